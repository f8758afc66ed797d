"""Token handshake and sealed frames (common/auth.c, common/seal.c) with hashlib and PyNaCl.

k = BLAKE2b-256(token); proofs are HMAC-SHA-256(k, context || nonce_L || nonce_W); after the
handshake each direction seals with ChaCha20-Poly1305-IETF, key = libsodium crypto_kdf subkey
(1: learner -> worker, 2: worker -> learner, context "rlsvseal") of
prk = BLAKE2b-256(key = k, "rlserve-seal-2" || nonce_L || nonce_W), nonce = a 64-bit frame
counter (little-endian) and 4 zero bytes; the 12-byte header is the associated data."""
import hashlib
import hmac
import os
import struct

from nacl import bindings as _nacl

from . import frame

KEY = 32
NONCE = 32
TAG = 16
WORKER_CONTEXT = b"rlserve-worker-2"
LEARNER_CONTEXT = b"rlserve-learner-2"


class TokenError(Exception):
    pass


def key_from_file(path):
    """k from a token file: surrounding whitespace stripped, at least 16 characters."""
    try:
        with open(path, "rb") as f:
            raw = f.read(4096)
    except OSError as e:
        raise TokenError("token file %s: %s" % (path, e.strerror)) from None
    tok = raw.strip(b" \t\r\n")
    if len(tok) < 16:
        raise TokenError("token file %s: the token has %d characters; use at least 16 "
                         "(e.g. head -c 32 /dev/urandom | base64)" % (path, len(tok)))
    return hashlib.blake2b(tok, digest_size=KEY).digest()


def fresh_nonce():
    return os.urandom(NONCE)


def prove(key, context, nonce_l, nonce_w):
    return hmac.new(key, context + nonce_l + nonce_w, hashlib.sha256).digest()


def verify(key, context, nonce_l, nonce_w, mac):
    return len(mac) == 32 and hmac.compare_digest(prove(key, context, nonce_l, nonce_w), mac)


def _kdf(prk, subkey_id, context=b"rlsvseal"):
    # libsodium crypto_kdf_derive_from_key: BLAKE2b keyed with prk over the empty message,
    # salt = subkey id (u64 little-endian, zero-padded to 16), personal = context (padded).
    return hashlib.blake2b(b"", digest_size=KEY, key=prk, salt=struct.pack("<Q", subkey_id),
                           person=context).digest()


class SealDir:
    """One direction: its key and the counter of the next frame."""

    def __init__(self, key):
        self.key = key
        self.counter = 0

    def _nonce(self):
        if self.counter >= 1 << 64:
            raise ValueError("frame counter used up")
        n = struct.pack("<Q", self.counter) + b"\0\0\0\0"
        self.counter += 1
        return n

    def seal(self, whole_frame):
        """A plain frame (header + payload) -> the sealed frame."""
        ftype = struct.unpack_from("<H", whole_frame, 8)[0]
        plain = whole_frame[frame.HEADER:]
        hdr = frame.header(ftype, len(plain) + TAG)
        return hdr + _nacl.crypto_aead_chacha20poly1305_ietf_encrypt(bytes(plain), hdr, self._nonce(), self.key)

    def open(self, hdr, payload):
        """The plain payload of a sealed frame; raises ValueError when it does not verify."""
        if len(payload) < TAG:
            raise ValueError("sealed frame shorter than its tag")
        nonce = struct.pack("<Q", self.counter) + b"\0\0\0\0"
        try:
            plain = _nacl.crypto_aead_chacha20poly1305_ietf_decrypt(bytes(payload), bytes(hdr), nonce, self.key)
        except Exception:
            raise ValueError("sealed frame does not verify (altered, replayed, reordered or another key)") from None
        self.counter += 1
        return plain


class Seal:
    """Both directions for one side (worker: tx = worker->learner)."""

    def __init__(self, key, nonce_l, nonce_w, as_learner=False):
        prk = hashlib.blake2b(b"rlserve-seal-2" + nonce_l + nonce_w, digest_size=KEY, key=key).digest()
        l2w, w2l = _kdf(prk, 1), _kdf(prk, 2)
        self.tx = SealDir(l2w if as_learner else w2l)
        self.rx = SealDir(w2l if as_learner else l2w)
