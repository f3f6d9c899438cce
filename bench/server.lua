-- bench/server.lua — wrk script for bench/server.sh and bench/server-rss.sh.
--
-- Environment (read in every wrk thread):
--   QL_BODIES   file with one JSON request body per line (rotated through)
--   QL_KEY      the API key, sent as Authorization: Bearer KEY
--   QL_PATH     the endpoint (default /v1/scan)
--   QL_LIMIT    optional: stop each thread after this many responses and
--               print "ql-limit" on stderr (the RSS check's "send N
--               requests": wrk itself only stops at -d or SIGINT, so
--               bench/server-rss.sh sends SIGINT once every thread said so;
--               divide the total by wrk's -t yourself)
--
-- Every response whose status is not 2xx is counted; done() prints one
-- machine-readable line that the shell scripts parse:
--   ql-result requests=N non2xx=N rps=X p50_us=X p90_us=X p99_us=X
--             p999_us=X max_us=X mean_us=X errors=connect/read/write/timeout
-- Latencies come from wrk's own histogram (microseconds).

local threads = {}
local counter = 0

function setup(thread)
    counter = counter + 1
    thread:set("id", counter)
    table.insert(threads, thread)
end

local requests = {}
local nreq = 0
local index = 0
non2xx = 0
responses = 0
local limit = tonumber(os.getenv("QL_LIMIT") or "") or 0

function init(args)
    local path = os.getenv("QL_PATH") or "/v1/scan"
    local key = os.getenv("QL_KEY")
    local file = os.getenv("QL_BODIES")
    if not key or not file then
        io.stderr:write("server.lua: set QL_KEY and QL_BODIES\n")
        os.exit(2)
    end
    local headers = {
        ["Authorization"] = "Bearer " .. key,
        ["Content-Type"] = "application/json",
    }
    for line in io.lines(file) do
        if #line > 0 then
            nreq = nreq + 1
            -- Pre-formatted once: building a request per call would make
            -- wrk, not the server, the bottleneck.
            requests[nreq] = wrk.format("POST", path, headers, line)
        end
    end
    if nreq == 0 then
        io.stderr:write("server.lua: no bodies in " .. file .. "\n")
        os.exit(2)
    end
    -- Threads start at different bodies.
    index = (id or 0) % nreq
end

function request()
    index = index % nreq + 1
    return requests[index]
end

function response(status, headers, body)
    responses = responses + 1
    if status < 200 or status > 299 then
        non2xx = non2xx + 1
        if non2xx <= 3 then
            io.stderr:write(string.format("server.lua: status %d: %s\n", status,
                                          string.sub(body or "", 1, 200)))
        end
    end
    if limit > 0 and responses == limit then
        io.stderr:write("ql-limit\n")
        io.stderr:flush()
        wrk.thread:stop()
    end
end

function done(summary, latency, requests_stats)
    local bad = 0
    for _, t in ipairs(threads) do
        bad = bad + (t:get("non2xx") or 0)
    end
    local e = summary.errors
    io.write(string.format(
        "ql-result requests=%d non2xx=%d rps=%.1f p50_us=%d p90_us=%d p99_us=%d " ..
        "p999_us=%d max_us=%d mean_us=%.1f errors=%d/%d/%d/%d\n",
        summary.requests, bad, summary.requests / (summary.duration / 1e6),
        latency:percentile(50), latency:percentile(90), latency:percentile(99),
        latency:percentile(99.9), latency.max, latency.mean,
        e.connect, e.read, e.write, e.timeout))
end
