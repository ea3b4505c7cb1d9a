"""The ciphers of the apiserver's encryption providers in pure Python (the lab hosts'
Python has no crypto module): AES (FIPS-197) in CBC with PKCS#7 padding and in GCM
(NIST SP 800-38D, 12-byte nonce, 16-byte tag), and NaCl secretbox (XSalsa20-Poly1305).
Slow (a few hundred KB/s), which is plenty for Secrets; the tests check each against
the `cryptography` package."""
from __future__ import annotations

import hmac
import struct


def _sbox():
    sbox, inv = [0] * 256, [0] * 256
    p = q = 1
    while True:
        p = p ^ ((p << 1) & 0xFF) ^ (0x1B if p & 0x80 else 0)
        q ^= q << 1
        q ^= q << 2
        q ^= q << 4
        q &= 0xFF
        if q & 0x80:
            q ^= 0x09
        x = q ^ ((q << 1 | q >> 7) & 0xFF) ^ ((q << 2 | q >> 6) & 0xFF) ^ ((q << 3 | q >> 5) & 0xFF) \
            ^ ((q << 4 | q >> 4) & 0xFF) ^ 0x63
        sbox[p], inv[x ^ 0] = x, p
        if p == 1:
            break
    sbox[0], inv[0x63] = 0x63, 0
    return sbox, inv


SBOX, INV = _sbox()


def _xt(a):
    return ((a << 1) ^ 0x1B) & 0xFF if a & 0x80 else a << 1


def _mul(a, b):
    r = 0
    while b:
        if b & 1:
            r ^= a
        a, b = _xt(a), b >> 1
    return r


class AES:
    def __init__(self, key: bytes):
        if len(key) not in (16, 24, 32):
            raise ValueError(f"crypto/aes: invalid key size {len(key)}")
        nk, self.rounds = len(key) // 4, len(key) // 4 + 6
        w = [list(key[i:i + 4]) for i in range(0, len(key), 4)]
        rcon = 1
        for i in range(nk, 4 * (self.rounds + 1)):
            t = list(w[i - 1])
            if i % nk == 0:
                t = [SBOX[b] for b in t[1:] + t[:1]]
                t[0] ^= rcon
                rcon = _xt(rcon)
            elif nk > 6 and i % nk == 4:
                t = [SBOX[b] for b in t]
            w.append([a ^ b for a, b in zip(w[i - nk], t)])
        self.keys = [sum(w[r * 4:r * 4 + 4], []) for r in range(self.rounds + 1)]

    def encrypt(self, block: bytes) -> bytes:
        s = [b ^ k for b, k in zip(block, self.keys[0])]
        for r in range(1, self.rounds + 1):
            s = [SBOX[s[(i + 4 * (i % 4)) % 16]] for i in range(16)]  # SubBytes + ShiftRows
            if r != self.rounds:
                s = sum(([_xt(c[0]) ^ _xt(c[1]) ^ c[1] ^ c[2] ^ c[3], c[0] ^ _xt(c[1]) ^ _xt(c[2]) ^ c[2] ^ c[3],
                          c[0] ^ c[1] ^ _xt(c[2]) ^ _xt(c[3]) ^ c[3], _xt(c[0]) ^ c[0] ^ c[1] ^ c[2] ^ _xt(c[3])]
                         for c in (s[j:j + 4] for j in range(0, 16, 4))), [])
            s = [b ^ k for b, k in zip(s, self.keys[r])]
        return bytes(s)

    def decrypt(self, block: bytes) -> bytes:
        s = [b ^ k for b, k in zip(block, self.keys[self.rounds])]
        for r in range(self.rounds - 1, -1, -1):
            s = [INV[s[(i - 4 * (i % 4)) % 16]] for i in range(16)]  # InvShiftRows + InvSubBytes
            s = [b ^ k for b, k in zip(s, self.keys[r])]
            if r:
                s = sum(([_mul(c[0], 14) ^ _mul(c[1], 11) ^ _mul(c[2], 13) ^ _mul(c[3], 9),
                          _mul(c[0], 9) ^ _mul(c[1], 14) ^ _mul(c[2], 11) ^ _mul(c[3], 13),
                          _mul(c[0], 13) ^ _mul(c[1], 9) ^ _mul(c[2], 14) ^ _mul(c[3], 11),
                          _mul(c[0], 11) ^ _mul(c[1], 13) ^ _mul(c[2], 9) ^ _mul(c[3], 14)]
                         for c in (s[j:j + 4] for j in range(0, 16, 4))), [])
        return bytes(s)


def _xor(a: bytes, b: bytes) -> bytes:
    return bytes(x ^ y for x, y in zip(a, b))


def cbc_encrypt(key: bytes, iv: bytes, data: bytes) -> bytes:
    aes, pad = AES(key), 16 - len(data) % 16
    data, out, prev = data + bytes([pad]) * pad, [], iv
    for i in range(0, len(data), 16):
        prev = aes.encrypt(_xor(data[i:i + 16], prev))
        out.append(prev)
    return b"".join(out)


def cbc_decrypt(key: bytes, iv: bytes, data: bytes) -> bytes:
    if len(data) % 16:
        raise ValueError("the stored data is not a multiple of the block size")
    aes, out, prev = AES(key), [], iv
    for i in range(0, len(data), 16):
        out.append(_xor(aes.decrypt(data[i:i + 16]), prev))
        prev = data[i:i + 16]
    plain = b"".join(out)
    pad = plain[-1] if plain else 0
    if pad == 0 or pad > len(plain) or plain[-pad:] != bytes([pad]) * pad:
        raise ValueError("invalid PKCS7 data (empty or not padded)")
    return plain[:-pad]


def _gmul(x: int, y: int) -> int:
    r, v = 0, y
    for i in range(127, -1, -1):
        if x >> i & 1:
            r ^= v
        v = (v >> 1) ^ (0xE1 << 120) if v & 1 else v >> 1
    return r


def _ghash(h: int, aad: bytes, ct: bytes) -> int:
    y = 0
    for data in (aad, ct):
        for i in range(0, len(data), 16):
            y = _gmul(y ^ int.from_bytes(data[i:i + 16].ljust(16, b"\0"), "big"), h)
    return _gmul(y ^ (len(aad) * 8 << 64 | len(ct) * 8), h)


def _ctr(aes: AES, counter: int, data: bytes) -> bytes:
    out = []
    for i in range(0, len(data), 16):
        out.append(_xor(data[i:i + 16], aes.encrypt(counter.to_bytes(16, "big"))))
        counter = (counter & ~0xFFFFFFFF) | ((counter + 1) & 0xFFFFFFFF)
    return b"".join(out)


def gcm_seal(key: bytes, nonce: bytes, data: bytes, aad: bytes) -> bytes:
    aes = AES(key)
    h, j0 = int.from_bytes(aes.encrypt(bytes(16)), "big"), int.from_bytes(nonce + b"\0\0\0\1", "big")
    ct = _ctr(aes, j0 + 1, data)
    tag = _xor(aes.encrypt(j0.to_bytes(16, "big")), _ghash(h, aad, ct).to_bytes(16, "big"))
    return ct + tag


def gcm_open(key: bytes, nonce: bytes, data: bytes, aad: bytes) -> bytes:
    aes = AES(key)
    ct, tag = data[:-16], data[-16:]
    h, j0 = int.from_bytes(aes.encrypt(bytes(16)), "big"), int.from_bytes(nonce + b"\0\0\0\1", "big")
    want = _xor(aes.encrypt(j0.to_bytes(16, "big")), _ghash(h, aad, ct).to_bytes(16, "big"))
    if len(data) < 16 or not hmac.compare_digest(want, tag):
        raise ValueError("cipher: message authentication failed")
    return _ctr(aes, j0 + 1, ct)


# --- secretbox: XSalsa20 + Poly1305 ----------------------------------------------------------------

def _rotl(v, c):
    return ((v << c) | (v >> (32 - c))) & 0xFFFFFFFF


def _salsa_rounds(x: list[int]) -> list[int]:
    x = list(x)
    for _ in range(10):
        for a, b, c, d in ((0, 4, 8, 12), (5, 9, 13, 1), (10, 14, 2, 6), (15, 3, 7, 11),
                           (0, 1, 2, 3), (5, 6, 7, 4), (10, 11, 8, 9), (15, 12, 13, 14)):
            x[b] ^= _rotl((x[a] + x[d]) & 0xFFFFFFFF, 7)
            x[c] ^= _rotl((x[b] + x[a]) & 0xFFFFFFFF, 9)
            x[d] ^= _rotl((x[c] + x[b]) & 0xFFFFFFFF, 13)
            x[a] ^= _rotl((x[d] + x[c]) & 0xFFFFFFFF, 18)
    return x


SIGMA = struct.unpack("<4I", b"expand 32-byte k")


def _state(key: bytes, n16: bytes) -> list[int]:
    k, n = struct.unpack("<8I", key), struct.unpack("<4I", n16)
    return [SIGMA[0], *k[:4], SIGMA[1], *n, SIGMA[2], *k[4:], SIGMA[3]]


def _xsalsa_stream(key: bytes, nonce: bytes, length: int) -> bytes:
    x = _salsa_rounds(_state(key, nonce[:16]))  # HSalsa20: the subkey
    sub = struct.pack("<8I", x[0], x[5], x[10], x[15], x[6], x[7], x[8], x[9])
    out, counter = [], 0
    while len(out) * 64 < length:
        init = _state(sub, nonce[16:24] + struct.pack("<Q", counter))
        out.append(struct.pack("<16I", *[(a + b) & 0xFFFFFFFF for a, b in zip(_salsa_rounds(init), init)]))
        counter += 1
    return b"".join(out)[:length]


def _poly1305(key: bytes, msg: bytes) -> bytes:
    r = int.from_bytes(key[:16], "little") & 0x0FFFFFFC0FFFFFFC0FFFFFFC0FFFFFFF
    s, p, acc = int.from_bytes(key[16:], "little"), (1 << 130) - 5, 0
    for i in range(0, len(msg), 16):
        acc = (acc + int.from_bytes(msg[i:i + 16] + b"\1", "little")) * r % p
    return ((acc + s) & ((1 << 128) - 1)).to_bytes(16, "little")


def secretbox_seal(key: bytes, nonce: bytes, data: bytes) -> bytes:
    stream = _xsalsa_stream(key, nonce, 32 + len(data))
    ct = _xor(data, stream[32:])
    return _poly1305(stream[:32], ct) + ct


def secretbox_open(key: bytes, nonce: bytes, box: bytes) -> bytes:
    if len(box) < 16:
        raise ValueError("the stored data was shorter than the required size")
    stream = _xsalsa_stream(key, nonce, 32 + len(box) - 16)
    if not hmac.compare_digest(_poly1305(stream[:32], box[16:]), box[:16]):
        raise ValueError("output array was not large enough for encryption")
    return _xor(box[16:], stream[32:])
