// Runs stub.mjs as its own process (for bench/gateway.mjs): prints
// "stub listening on PORT" and serves until killed.
import { startStub } from './stub.mjs';

const stub = await startStub({ record: false });
console.log(`stub listening on ${stub.port}`);
