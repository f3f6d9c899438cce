// Valid test identifiers: GB 11643 resident IDs (MOD 11-2 check digit),
// Luhn-valid UnionPay card numbers, mobile numbers, names after a label.

export function residentId(region, birth, seq) {
  const body = `${region}${birth}${String(seq).padStart(3, '0')}`;
  const weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
  let sum = 0;
  for (let i = 0; i < 17; i++) sum += Number(body[i]) * weights[i];
  return body + '10X98765432'[sum % 11];
}

export function luhnCard(prefix, length = 19) {
  let body = prefix;
  let n = 0;
  while (body.length < length - 1) body += String((n++ * 7 + 3) % 10);
  for (let d = 0; d < 10; d++) {
    const s = body + d;
    let sum = 0;
    for (let i = 0; i < s.length; i++) {
      let x = Number(s[s.length - 1 - i]);
      if (i % 2 === 1) { x *= 2; if (x > 9) x -= 9; }
      sum += x;
    }
    if (sum % 10 === 0) return s;
  }
  throw new Error('unreachable');
}

const surnames = ['王', '李', '张', '刘', '陈', '杨', '黄', '赵', '吴', '周'];
const given = ['小明', '建国', '丽华', '志强', '秀英', '伟', '芳', '敏', '静', '磊'];

// The i-th distinct person: every value different from every other i's.
export function person(i) {
  return {
    name: surnames[i % 10] + given[Math.floor(i / 10) % 10],
    id: residentId('110105', `19${String(50 + (i % 40)).padStart(2, '0')}0${1 + (i % 9)}1${i % 10}`, 100 + i),
    phone: String(13800000000 + 1111 * (i + 1)),
    card: luhnCard('622202' + String(100000 + i)),
  };
}
