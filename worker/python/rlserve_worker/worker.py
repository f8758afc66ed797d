"""The Python worker: the C worker's protocol (worker/worker.c, proto/README.md) over one
blocking TCP socket polled with select. Steps K Gymnasium-API envs with a batched numpy
forward of the published network, sends msgpack batches as the learner's credit allows, Stats
every stats_interval_s, applies new weights between steps, and reconnects with backoff."""
import collections
import logging
import os
import random
import select
import socket
import struct
import time

import numpy as np

from . import crypto, frame, tbatch
from .nstep import Batch, NStep
from .policy import ALGOS
from .proto import pb
from .spaces import EnvSpace, env_id_of
from .vec import VecEnv

log = logging.getLogger("rlserve_worker")

BACKOFF_MIN_S = 0.1
BACKOFF_MAX_S = 5.0
MAX_PENDING_RETURNS = 10000
FATAL_CODES = (401, 409, 422, 426)  # retrying cannot fix these (worker.c handle_error)
OBS_BOUNDS_MAX = 128  # per-element observation bounds in the Hello up to this many elements


class Fatal(Exception):
    """Stop the worker with this exit status (2: config/usage, 3: refused by/of the learner)."""

    def __init__(self, msg, status):
        super().__init__(msg)
        self.status = status


class Dropped(Exception):
    """The connection is gone (or must go); the worker reconnects."""


def parse_hostport(text):
    if text.startswith("["):
        host, _, port = text[1:].partition("]:")
    else:
        host, _, port = text.rpartition(":")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError("--connect %r: expected HOST:PORT with a port in 1..65535" % text)
    return host, int(port)


# The Welcome's numbers this worker sizes itself by, within the config table's ranges
# (common/config.h): a learner cannot make it allocate or wait without bound.
WELCOME_RANGES = {"envs_per_worker": (int, 1, 4096), "send_batch": (int, 1, 65536),
                  "n_step": (int, 1, 64), "outbox_bytes": (int, 4096, 1e12),
                  "stats_interval_s": (float, 0.05, 3600), "idle_timeout_s": (float, 0.1, 86400),
                  "gamma": (float, 0, 1)}


def welcome_value(cfg, key, default=None):
    """cfg[key] converted and range-checked; ValueError naming the key."""
    conv, lo, hi = WELCOME_RANGES[key]
    text = cfg.get(key, default)
    if text is None:
        raise ValueError("the run config has no %s" % key)
    try:
        v = conv(text)
    except (TypeError, ValueError):
        raise ValueError("%s = %r is not a number" % (key, text)) from None
    if not lo <= v <= hi:
        raise ValueError("%s = %r outside %g..%g" % (key, text, lo, hi))
    return v


def hello_payload(space, num_envs, mac=b"", nonce=b""):
    h = pb.Hello(protocol_version=frame.VERSION, worker_name="%s:%d" % (socket.gethostname(), os.getpid()),
                 host=socket.gethostname()[:255], pid=os.getpid(), num_envs=num_envs, auth=mac, nonce=nonce)
    if space is not None:
        h.env_id = space.env_id
        h.obs_dim = space.obs_dim
        h.act_dim = space.n_out
        h.act_continuous = space.continuous
        if space.continuous:
            h.act_low.extend(float(v) for v in space.low)
            h.act_high.extend(float(v) for v in space.high)
        # The observation bounds: one pair when every element shares it, else one per element up
        # to OBS_BOUNDS_MAX elements; a wider env sends the pair that covers all of them (looser,
        # never refusing a valid value), so the Hello stays within the 4 KiB allowed before
        # authentication.
        lo = np.broadcast_to(space.obs_low, (space.obs_dim,))
        hi = np.broadcast_to(space.obs_high, (space.obs_dim,))
        if (np.all(lo == lo[0]) and np.all(hi == hi[0])) or space.obs_dim > OBS_BOUNDS_MAX:
            lo, hi = lo.min(keepdims=True), hi.max(keepdims=True)
        h.obs_low.extend(float(v) for v in lo)
        h.obs_high.extend(float(v) for v in hi)
        h.evaluates = True  # it plays the learner's Eval requests (env = worker:ID runs)
        h.obs_binary = bool(getattr(space, "binary", False))
        if getattr(space, "obs_shape", None):
            h.obs_shape.extend(space.obs_shape)
    return h.SerializeToString()


class Worker:
    def __init__(self, env_fn, connect, token_file=None, envs=None, env_id=None, max_steps=None):
        self.host, self.port = parse_hostport(connect)
        self.key = crypto.key_from_file(token_file) if token_file else None
        self.env_fn = env_fn
        self.requested_envs = envs
        self.env_id_override = env_id
        self.max_steps = max_steps
        probe = env_fn()
        self.space = EnvSpace(env_id_of(probe, env_id), probe.observation_space, probe.action_space)
        self._spare_env = probe
        self.eval_envs = []  # the evaluator's own envs (evaluate.py), made on the first Eval
        self.eval_algo = None
        self.in_eval = False
        self.rng = np.random.default_rng()
        self.vec = None
        self.algo = None
        self.cfg = None
        self.k = 0
        self.version = 0
        self.global_steps = 0
        self.have_weights = False
        self.steps = self.episodes = self.dropped = 0
        self.pending = []
        self.away = collections.deque()  # encoded batches kept while the learner is away
        self.away_bytes = 0
        self.batch = None  # the rows being filled (nstep.Batch), made by the Welcome
        self.nstep = None
        self.n_step = 1
        self.actor_priorities = False
        self.online = self.target = None  # actor_priorities: the whole published buffers
        self.sent_first = False
        self.attempt = 0

    # -- batch being filled ------------------------------------------------------------
    @property
    def b_n(self):
        return self.batch.n if self.batch is not None else 0

    def _reset_batch(self):
        if self.batch is not None:
            self.batch.n = 0

    # -- connection ----------------------------------------------------------------------
    def _send(self, ftype, payload):
        f = frame.encode(ftype, payload)
        if self.tx is not None:
            f = self.tx.seal(f)
        try:
            self.sock.sendall(f)
        except OSError as e:
            raise Dropped("send: %s" % e) from None

    def _error(self, code, reason):
        try:
            self._send(frame.ERROR, pb.Error(code=code, reason=reason[:4096]).SerializeToString())
        except Dropped:
            pass

    def _connect(self):
        self.connected = False
        self.sock = socket.create_connection((self.host, self.port), timeout=10)
        self.connected = True
        self.sock.settimeout(None)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.reader = frame.FrameReader(frame.PREAUTH_MAX if self.key else frame.MAX_PAYLOAD)
        self.tx = self.rx = None
        self.nonce_l = self.nonce_w = None
        self.hello_sent = self.proven = self.welcomed = False
        self.credit = 0
        self.last_rx = time.monotonic()
        if self.key is None:
            # Without a token hello_sent stays 0 (as in worker.c): it marks the answer to a Challenge.
            self._send(frame.HELLO, hello_payload(self.space, self.requested_envs or 0))

    def _close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def _frames(self):
        """Reads what the socket has; yields (type, payload) of whole frames, opened."""
        try:
            data = self.sock.recv(1 << 16)
        except OSError as e:
            raise Dropped("recv: %s" % e) from None
        if not data:
            raise Dropped("learner closed the connection")
        self.last_rx = time.monotonic()
        self.reader.feed(data)
        while True:
            try:
                f = self.reader.next()
            except frame.FrameError as e:
                raise Dropped(str(e)) from None
            if f is None:
                return
            ftype, _, hdr, payload = f
            if self.rx is not None:
                try:
                    payload = self.rx.open(hdr, payload)
                except ValueError as e:
                    raise Dropped("sealed %s frame #%d refused: %s" % (frame.type_name(ftype), self.rx.counter, e)) from None
            yield ftype, payload

    # -- handlers ------------------------------------------------------------------------
    def _refuse_peer(self, why):
        raise Fatal("refusing the learner at %s:%d: %s; this worker has a token and acts only on a "
                    "learner that proves it (start the learner with the same --token-file)"
                    % (self.host, self.port, why), 3)

    def _handle(self, ftype, p):
        if self.key is not None and not self.proven and ftype not in (frame.CHALLENGE, frame.PROOF, frame.ERROR):
            self._refuse_peer("it sent %s %s" % (frame.type_name(ftype),
                                                 "before proving the token" if self.hello_sent else "without a challenge"))
        h = {frame.WELCOME: self._welcome, frame.WEIGHTS: self._weights, frame.ERROR: self._on_error,
             frame.CREDIT: self._credit, frame.CHALLENGE: self._challenge, frame.PROOF: self._proof,
             frame.HEARTBEAT: lambda p: None, frame.EVAL: self._eval,
             frame.EXPLORE: self._explore}.get(ftype)
        if h is None:
            raise Dropped("unexpected %s frame from the learner" % frame.type_name(ftype))
        h(p)

    def _parse(self, cls, p, what):
        m = cls()
        try:
            m.ParseFromString(p)
        except Exception:
            raise Dropped("%s: not a valid protobuf message" % what) from None
        return m

    def _challenge(self, p):
        if self.welcomed or self.hello_sent:
            raise Dropped("a second challenge")
        ch = self._parse(pb.Challenge, p, "challenge")
        if self.key is None:
            log.error("the learner requires a token: give the run's token with --token-file")
            return
        if len(ch.nonce) != crypto.NONCE:
            raise Dropped("challenge: nonce has %d bytes, expected %d" % (len(ch.nonce), crypto.NONCE))
        self.nonce_l, self.nonce_w = ch.nonce, crypto.fresh_nonce()
        mac = crypto.prove(self.key, crypto.WORKER_CONTEXT, self.nonce_l, self.nonce_w)
        self._send(frame.HELLO, hello_payload(self.space, self.requested_envs or 0, mac, self.nonce_w))
        self.hello_sent = True
        seal = crypto.Seal(self.key, self.nonce_l, self.nonce_w)
        self.tx, self._rx_pending = seal.tx, seal.rx  # we seal after the Hello, read sealed after the Proof

    def _proof(self, p):
        if self.key is None or not self.hello_sent or self.proven:
            raise Dropped("unexpected PROOF frame from the learner")
        try:
            pr = self._parse(pb.Proof, p, "proof")
        except Dropped as e:
            self._refuse_peer(str(e))
        if not crypto.verify(self.key, crypto.LEARNER_CONTEXT, self.nonce_l, self.nonce_w, pr.proof):
            self._refuse_peer("its proof of the token does not verify (another token, or not the learner)")
        self.proven = True
        self.rx = self._rx_pending
        self.reader.limit = frame.MAX_PAYLOAD

    def _on_error(self, p):
        e = self._parse(pb.Error, p, "error")
        reason = "".join(c if c.isprintable() or c in "\n\t" else "?" for c in e.reason)
        log.error("learner says: %s", reason)
        if e.code in FATAL_CODES:
            raise Fatal("giving up (exit status 3): %s" % reason, 3)
        raise Dropped("learner sent an error")

    def _welcome(self, p):
        wm = self._parse(pb.Welcome, p, "welcome")
        cfg = {c.key: c.value for c in wm.config}
        try:
            self._configure(wm, cfg)
        except (ValueError, KeyError) as e:
            msg = "learner asks for a run this worker cannot run: %s" % e
            self._error(400, msg)
            raise Fatal(msg, 2) from None
        self.welcomed = True
        self.attempt = 0
        log.info("welcomed as worker %d (index %d): %s, %d envs, %s", wm.worker_id, wm.worker_index,
                 self.space.env_id, self.k, cfg.get("algo"))

    def _configure(self, wm, cfg):
        sp = self.space
        if wm.env_id and wm.env_id != sp.env_id:
            raise ValueError("the run's env is %s, this worker's env is %s" % (wm.env_id, sp.env_id))
        if wm.obs_dim != sp.obs_dim or wm.act_dim != sp.n_out:
            raise ValueError("learner's env has obs %d / actions %d, ours has %d / %d"
                             % (wm.obs_dim, wm.act_dim, sp.obs_dim, sp.n_out))
        name = cfg.get("algo", "")
        if name not in ALGOS or ALGOS[name].discrete == sp.continuous:
            raise ValueError("algo %s with %s actions" % (name, "continuous" if sp.continuous else "discrete"))
        k = self.requested_envs or welcome_value(cfg, "envs_per_worker")
        same = (self.vec is not None and self.cfg is not None and k == self.k and
                all(cfg.get(x) == self.cfg.get(x) for x in ("algo", "hidden", "activation", "send_batch", "env",
                                                           "net", "dueling", "n_step", "gamma",
                                                           "actor_priorities", "double_dqn")))
        self.cfg = cfg
        self.wid = wm.worker_id
        self.send_batch = welcome_value(cfg, "send_batch")
        self.outbox_bytes = welcome_value(cfg, "outbox_bytes")
        self.stats_interval = welcome_value(cfg, "stats_interval_s")
        self.idle_timeout = welcome_value(cfg, "idle_timeout_s")
        if not same:
            self.rng = np.random.default_rng(wm.seed)
            self.algo = ALGOS[name](cfg, sp, self.rng)
            self.eval_algo = None
            envs = [self._spare_env] if self._spare_env is not None else []
            self._spare_env = None
            envs += [self.env_fn() for _ in range(k - len(envs))]
            try:
                self.vec = VecEnv(envs, sp, wm.seed)
            except Exception as e:
                raise Fatal("the env failed at reset: %s: %s" % (type(e).__name__, e), 2) from None
            self.k = k
            self.have_weights = False
            self.away.clear()
            self.away_bytes = 0
            # n-step returns as the C worker builds them (common/nstep.c): a step of k envs
            # appends at most k * n_step rows.
            self.n_step = welcome_value(cfg, "n_step", "1")
            self.actor_priorities = cfg.get("actor_priorities", "false") == "true"
            self.online = self.target = None
            self.nstep = NStep(k, self.n_step, sp.obs_dim, self.algo.act_dim, welcome_value(cfg, "gamma", "0.99"))
            self.batch = Batch(self.send_batch + k * self.n_step, sp.obs_dim, self.algo.act_dim)
        self.algo.level = wm.noise_scale if sp.continuous else wm.epsilon_final

    def _explore(self, p):
        """explore = apex: this actor's place among those connected and its fixed exploration."""
        if not self.welcomed:
            raise Dropped("explore before welcome")
        ex = self._parse(pb.Explore, p, "explore")
        if ex.actors == 0 or ex.worker_index >= ex.actors or not 0.0 <= ex.epsilon <= 1.0 \
                or not ex.noise_scale >= 0.0:
            raise Dropped("explore: worker_index %d of %d actors, epsilon %g, noise_scale %g"
                          % (ex.worker_index, ex.actors, ex.epsilon, ex.noise_scale))
        self.algo.level = ex.noise_scale if self.space.continuous else ex.epsilon
        log.info("actor %d of %d: epsilon %.4g, noise scale %.4g", ex.worker_index, ex.actors,
                 ex.epsilon, ex.noise_scale)

    def _weights(self, p):
        if not self.welcomed:
            raise Dropped("weights before welcome")
        wt = self._parse(pb.Weights, p, "weights")
        need = self.algo.net.n_params
        if wt.n_params < 1 or (self.algo.weights_exact and wt.n_params != need) or wt.n_params < need:
            raise Dropped("weights: n_params %d, this network has %d" % (wt.n_params, need))
        if len(wt.online) != 4 * wt.n_params:
            raise Dropped("weights: online has %d bytes, expected 4*%d=%d" % (len(wt.online), wt.n_params, 4 * wt.n_params))
        # actor_priorities: the whole online buffer (an actor's critics compute the priorities
        # too) and the target network of the same layout (worker.c handle_weights).
        prio = self.actor_priorities and len(wt.target_net) > 0
        if prio and len(wt.target_net) != 4 * wt.n_params:
            raise Dropped("weights: target_net has %d bytes, expected 4*%d" % (len(wt.target_net), wt.n_params))
        flat = np.frombuffer(wt.online, dtype="<f4", count=wt.n_params if prio else need)
        tflat = np.frombuffer(wt.target_net, dtype="<f4") if prio else None
        if not np.all(np.isfinite(flat)) or (prio and not np.all(np.isfinite(tflat))):
            raise Dropped("weights: non-finite parameter")
        self.algo.net.load(flat)
        if prio:
            self.online, self.target = flat.copy(), tflat.copy()
        self.version = wt.version
        self.global_steps = wt.env_steps
        if not self.have_weights:
            log.info("first weights (version %d): stepping", wt.version)
        self.have_weights = True

    def _eval(self, p):
        """Plays the greedy episodes an EvalRequest asks for and answers with an EvalResult. The
        connection stays served meanwhile (weights, credit, heartbeats; a second Eval is a
        protocol error)."""
        if not self.welcomed:
            raise Dropped("eval before welcome")
        if self.in_eval:
            raise Dropped("a second EVAL frame while one is being played")
        rq = self._parse(pb.EvalRequest, p, "eval")
        from . import evaluate  # here, so `python3 -m rlserve_worker.evaluate` runs it fresh
        if self.eval_algo is None:
            self.eval_algo = ALGOS[self.cfg["algo"]](self.cfg, self.space, np.random.default_rng(0))
        need = self.eval_algo.net.n_params
        if rq.n_params < need or (self.eval_algo.weights_exact and rq.n_params != need):
            raise Dropped("eval: n_params %d, this network has %d" % (rq.n_params, need))
        if len(rq.online) != 4 * rq.n_params:
            raise Dropped("eval: online has %d bytes, expected 4*%d" % (len(rq.online), rq.n_params))
        if not 1 <= rq.count <= 100000:
            raise Dropped("eval: count %d outside 1..100000" % rq.count)
        flat = np.frombuffer(rq.online, dtype="<f4", count=need)
        if not np.all(np.isfinite(flat)):
            raise Dropped("eval: non-finite parameter")
        self.eval_algo.net.load(flat)
        try:
            while len(self.eval_envs) < min(rq.count, evaluate.CHUNK):
                self.eval_envs.append(self.env_fn())
        except Exception as e:
            raise Fatal("cannot make an env for evaluation: %s: %s" % (type(e).__name__, e), 2) from None
        t0 = time.monotonic()
        log.info("evaluation share #%d (weights %d): playing %d greedy episodes from seed %d",
                 rq.eval_id, rq.weights_version, rq.count, rq.seed_first)
        self.in_eval = True
        try:
            rets, lens = evaluate.play(self.eval_envs, self.space, self.eval_algo.greedy, rq.seed_first,
                                       rq.count, tick=self._eval_tick)
        except (Dropped, Fatal):
            raise
        except Exception as e:  # the user's env
            raise Fatal("the env failed in an evaluation: %s: %s" % (type(e).__name__, e), 2) from None
        finally:
            self.in_eval = False
        res = pb.EvalResult(eval_id=rq.eval_id, seed_first=rq.seed_first)
        res.returns.extend(float(r) for r in rets)
        res.lengths.extend(int(n) for n in lens)
        self._send(frame.EVAL_RESULT, res.SerializeToString())
        log.info("evaluation share #%d answered: mean %.2f over %d episodes, %.1f s", rq.eval_id,
                 float(rets.mean()), rq.count, time.monotonic() - t0)

    def _eval_tick(self):
        """While an evaluation plays: a heartbeat, and whatever the learner sent meanwhile."""
        self._send(frame.HEARTBEAT, b"")
        r, _, _ = select.select([self.sock], [], [], 0)
        if r:
            for ftype, p in self._frames():
                self._handle(ftype, p)

    def _credit(self, p):
        cr = self._parse(pb.Credit, p, "credit")
        self.credit += cr.transitions
        self._drain_away()

    # -- sending -------------------------------------------------------------------------
    def _encode(self):
        """The TRANSITIONS payload of the rows being filled, as worker.c flush_batch sends it:
        "disc" when n_step > 1, "prio" under actor_priorities once the target network came,
        packed bits for a binary observation space."""
        obs, act, rew, nxt, flags, disc = self.batch.rows()
        prio = None
        if self.actor_priorities and self.target is not None and hasattr(self.algo, "priorities"):
            try:
                prio = self.algo.priorities(self.online, self.target, obs, act, rew, nxt, flags, disc)
            except ValueError as e:  # no critics in the buffer: the replay's largest, as in C
                log.warning("no actor priorities for this batch: %s", e)
        return tbatch.encode(obs, act, rew, nxt, flags, self.version, self.wid, bits=self.space.binary,
                             disc=disc if self.n_step > 1 else None, prio=prio)

    def _flush(self, connected):
        if self.b_n == 0 or (connected and self.credit < self.b_n):
            return
        try:
            payload = self._encode()
        except ValueError as e:  # e.g. a "binary" env that returned 0.5
            raise Fatal("cannot send the env's transitions: %s" % e, 2) from None
        n = self.b_n
        self._reset_batch()
        if not self.sent_first:
            self.sent_first = True
            log.info("first batch: %d transitions, %d-step returns%s%s, observations as %s", n, self.n_step,
                     " (disc)" if self.n_step > 1 else "",
                     ", actor priorities (prio)" if self.target is not None and self.actor_priorities else "",
                     "packed bits" if self.space.binary else "float32")
        if not connected:
            self.away.append((payload, n))
            self.away_bytes += len(payload)
            return
        self.credit -= n
        self._send(frame.TRANSITIONS, payload)

    def _drain_away(self):
        while self.away and self.credit >= self.away[0][1]:
            payload, n = self.away.popleft()
            self.away_bytes -= len(payload)
            self.credit -= n
            self._send(frame.TRANSITIONS, payload)

    def _stats(self, now):
        dt = now - self.t_stats
        s = pb.Stats(env_steps=self.steps, episodes=self.episodes,
                     episode_returns=[r for r, _ in self.pending], episode_lengths=[n for _, n in self.pending],
                     steps_per_sec=(self.steps - self.steps_at_stats) / dt if dt > 0 else 0.0,
                     dropped=self.dropped, weights_version=self.version, epsilon=float(self.algo.now))
        self._send(frame.STATS, s.SerializeToString())
        self.pending = []
        self.t_stats, self.steps_at_stats = now, self.steps

    # -- stepping ------------------------------------------------------------------------
    def _can_step(self, connected):
        if not self.have_weights or self.vec is None:
            return False
        if not connected and self.away_bytes >= self.outbox_bytes:
            return False
        if self.b_n > self.send_batch:  # a full batch waits for credit (batches: send_batch + k rows at most)
            self._flush(connected)
        return self.b_n <= self.send_batch

    def _step(self, connected):
        obs = self.vec.obs.copy()
        act = self.algo.explore(obs, self.global_steps)
        try:
            next_obs, rew, term, trunc, finished = self.vec.step(act)
        except Exception as e:  # the user's env: stop with its reason rather than send bad data
            raise Fatal("the env failed: %s: %s" % (type(e).__name__, e), 2) from None
        flags = (term * tbatch.TERMINATED | trunc * tbatch.TRUNCATED).astype(np.uint8)
        self.nstep.push_all(obs, act.reshape(self.k, -1).astype(np.float32), rew, next_obs, flags,
                            self.batch)
        self.steps += self.k
        self.global_steps += self.k
        for r, n in finished:
            self.episodes += 1
            if len(self.pending) < MAX_PENDING_RETURNS:
                self.pending.append((r, n))
        if self.b_n >= self.send_batch:
            self._flush(connected)

    # -- the loop ------------------------------------------------------------------------
    def _session(self):
        """One connection, until it drops (Dropped) or the worker must stop (Fatal)."""
        self.t_stats, self.steps_at_stats = time.monotonic(), self.steps
        next_stats = None
        while True:
            if self.max_steps is not None and self.steps >= self.max_steps:
                return
            stepping = self.welcomed and self._can_step(True)
            r, _, _ = select.select([self.sock], [], [], 0 if stepping else 0.05)
            if r:
                for ftype, p in self._frames():
                    self._handle(ftype, p)
                if self.welcomed and self.b_n >= self.send_batch:
                    self._flush(True)
                continue
            now = time.monotonic()
            if now - self.last_rx > (self.idle_timeout if self.welcomed else 30.0):
                raise Dropped("learner silent for %.1f s" % (now - self.last_rx))
            if self.welcomed:
                if next_stats is None:
                    next_stats = now + self.stats_interval
                if now >= next_stats:
                    self._stats(now)
                    next_stats = now + self.stats_interval
            if stepping:
                self._step(True)

    def _away(self, delay):
        """Keeps stepping into the away queue (bounded by outbox_bytes) while waiting."""
        end = time.monotonic() + delay
        while time.monotonic() < end:
            if self.have_weights and self._can_step(False):
                self._step(False)
            else:
                time.sleep(min(0.05, max(0.0, end - time.monotonic())))

    def run(self):
        while True:
            try:
                self._connect()
                self._session()
                self._close()
                return 0
            except Fatal as e:
                log.error("%s", e)
                self._close()
                return e.status
            except KeyboardInterrupt:
                log.info("interrupted after %d env steps", self.steps)
                self._close()
                return 130
            except (Dropped, OSError) as e:
                if getattr(self, "connected", False):
                    log.warning("connection to the learner lost: %s", e)
                elif self.attempt <= 1 or self.attempt % 10 == 0:
                    log.warning("cannot reach the learner at %s:%d: %s (retrying)", self.host, self.port, e)
                if hasattr(self, "sock"):
                    self._close()
                self.welcomed = False
                self.credit = 0
                if self.vec is not None and self.b_n:
                    self._flush(False)
            self.attempt += 1
            delay = min(BACKOFF_MAX_S, BACKOFF_MIN_S * 2 ** min(self.attempt, 6)) * (0.5 + random.random())
            try:
                self._away(delay)
            except KeyboardInterrupt:
                return 130
            except Fatal as e:
                log.error("%s", e)
                return e.status


def run(env_fn, connect, token_file=None, envs=None, env_id=None, max_steps=None):
    """Runs a worker until the learner ends the run or refuses it; returns the exit status
    (0, 2 bad config, 3 refused, 130 interrupted). env_fn() makes one env (Gymnasium API:
    reset(seed=) -> (obs, info); step(a) -> (obs, reward, terminated, truncated, info), with
    observation_space and action_space, and an id: spec.id, env_id or the env_id argument)."""
    try:
        w = Worker(env_fn, connect, token_file=token_file, envs=envs, env_id=env_id, max_steps=max_steps)
    except (crypto.TokenError, ValueError) as e:
        log.error("%s", e)
        return 2
    except Exception as e:  # the user's env factory
        log.error("cannot make the env: %s: %s", type(e).__name__, e)
        return 2
    return w.run()
