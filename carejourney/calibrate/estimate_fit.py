"""Survival and count models for calibrating a config from child-level episodes.

Everything here works on plain arrays so it can be tested against samples with known
parameters. Durations are in days. `events` may be fractional (0..1): an observation with
event weight w contributes w x log f(t) + (1 - w) x log S(t), which is what an EM step over
an uncertain cause needs. `entry` (delayed entry, left truncation) conditions on surviving
to the entry time: log L -= log S(entry).

Standard errors come from the observed information (numerical Hessian at the optimum).

A fit the data cannot identify raises FitError (a ValueError), never a degenerate result: no
events; for a two-parameter duration fit (Weibull, lognormal) events at fewer than
MIN_EVENT_DURATIONS different durations (all events at one duration carry no spread: the MLE
runs off to sigma -> 0, shape -> infinity); an optimiser that ends at non-finite or zero-spread
parameters; an information matrix that is not finite or cannot be inverted; a parameter whose
SE is above MAX_LOG_SE (a flat likelihood: the MLE does not exist, e.g. the multiplier of an
age band without events); a Poisson regression with no finite maximum. The estimation
(EstimateRecorder.fit and the estimate_* modules) then keeps the template's value and says
why in its report.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from scipy import optimize, special, stats

Z90 = 1.6448536269514722  # two-sided 90% normal quantile
MIN_DAYS = 0.5  # a spell that starts and ends on the same day lasted about half a day
MIN_EVENT_DURATIONS = 2  # a two-parameter duration fit needs events at this many different durations
MIN_LOG_SPREAD = 1e-6  # sd of log duration below this: the fit collapsed onto one duration
MAX_LOG_SPREAD = 20.0  # ... above this (or a log scale beyond +-MAX_LOG_SCALE): it ran off
MAX_LOG_SCALE = 50.0
NEGLIGIBLE_EVENTS = 1e-3  # fewer (EM-weighted) events in a cell are none: an EM weight is good to ~5e-4
MAX_LOG_SE = 1e3  # a log parameter's SE above this: the likelihood is flat, its MLE runs off to 0 or infinity


class FitError(ValueError):
    """The data cannot identify this fit (too few events, events without spread, or a failed
    optimiser or covariance step): callers keep what they had instead of a degenerate fit.
    `params`: the parameters at fault, where known (fit_weibull_groups' index names;
    poisson_regression's "row:i" cells or "coef:j" columns)."""

    def __init__(self, message: str, params: tuple[str, ...] = ()):
        super().__init__(message)
        self.params = tuple(params)


@dataclass
class Fit:
    """A fitted duration distribution. `params` are on the natural scale (days)."""

    family: str  # exponential | weibull | lognormal
    params: dict[str, float]
    se_log: dict[str, float]  # standard error of the log of each parameter
    loglik: float
    n: int
    events: float
    exposure_days: float
    extra: dict = field(default_factory=dict)

    @property
    def k(self) -> int:
        return len(self.params) if self.family != "lognormal" else 2

    @property
    def aic(self) -> float:
        return 2 * self.k - 2 * self.loglik

    def mean(self) -> float:
        p = self.params
        if self.family == "exponential":
            return p["mean_days"]
        if self.family == "weibull":
            return p["scale_days"] * math.gamma(1 + 1 / p["shape"])
        return p["mean_days"]

    def survival(self, t) -> np.ndarray:
        t = np.asarray(t, dtype=float)
        p = self.params
        if self.family == "exponential":
            return np.exp(-t / p["mean_days"])
        if self.family == "weibull":
            return np.exp(-((t / p["scale_days"]) ** p["shape"]))
        mu, sigma = p["mu"], p["sigma"]
        return stats.norm.sf((np.log(np.maximum(t, 1e-12)) - mu) / sigma)

    def interval(self, name: str, z: float = Z90) -> tuple[float, float]:
        v, s = self.params[name], self.se_log.get(name, math.nan)
        if not np.isfinite(s):
            return (math.nan, math.nan)
        return v * math.exp(-z * s), v * math.exp(z * s)

    def distribution(self) -> dict:
        """The config's Distribution for this fit."""
        p = self.params
        if self.family == "exponential":
            return {"kind": "exponential", "mean_days": _r(p["mean_days"])}
        if self.family == "weibull":
            return {"kind": "weibull", "shape": _r(p["shape"]), "scale_days": _r(p["scale_days"])}
        return {"kind": "lognormal", "mean_days": _r(p["mean_days"]), "sd_days": _r(p["sd_days"])}


def _r(x: float, digits: int = 4) -> float:
    """Round to significant digits, as a plain float (YAML-friendly)."""
    x = float(x)
    if x == 0 or not math.isfinite(x):
        return x
    return float(round(x, digits - 1 - math.floor(math.log10(abs(x)))))


def _prep(durations, events, entry=None, weights=None):
    t = np.maximum(np.asarray(durations, dtype=float), MIN_DAYS)
    d = np.clip(np.asarray(events, dtype=float), 0, 1)
    a = np.zeros_like(t) if entry is None else np.clip(np.asarray(entry, dtype=float), 0, None)
    a = np.minimum(a, t)
    w = np.ones_like(t) if weights is None else np.asarray(weights, dtype=float)
    return t, d, a, w


def numerical_hessian(f, x: np.ndarray, step: float = 1e-4) -> np.ndarray:
    """Central-difference Hessian of a scalar function."""
    x = np.asarray(x, dtype=float)
    n = len(x)
    h = np.empty((n, n))
    e = step * np.maximum(1.0, np.abs(x))
    f0 = f(x)
    for i in range(n):
        xi = x.copy()
        xi[i] += e[i]
        fp = f(xi)
        xi[i] -= 2 * e[i]
        fm = f(xi)
        h[i, i] = (fp - 2 * f0 + fm) / e[i] ** 2
        for j in range(i + 1, n):
            xpp, xpm, xmp, xmm = x.copy(), x.copy(), x.copy(), x.copy()
            xpp[[i, j]] += [e[i], e[j]]
            xpm[[i, j]] += [e[i], -e[j]]
            xmp[[i, j]] += [-e[i], e[j]]
            xmm[[i, j]] -= [e[i], e[j]]
            h[i, j] = h[j, i] = (f(xpp) - f(xpm) - f(xmp) + f(xmm)) / (4 * e[i] * e[j])
    return h


def hessian_from_gradient(grad, x: np.ndarray, step: float = 1e-5) -> np.ndarray:
    x = np.asarray(x, dtype=float)
    n = len(x)
    h = np.empty((n, n))
    e = step * np.maximum(1.0, np.abs(x))
    for i in range(n):
        xp, xm = x.copy(), x.copy()
        xp[i] += e[i]
        xm[i] -= e[i]
        h[:, i] = (grad(xp) - grad(xm)) / (2 * e[i])
    return (h + h.T) / 2


def safe_inverse(h: np.ndarray) -> np.ndarray:
    """The covariance from an information matrix (a pseudo-inverse when it is singular).

    Raises FitError when `h` is not finite (the likelihood is flat or overflows at the
    optimum) or cannot be inverted at all (numpy's "SVD did not converge")."""
    h = np.asarray(h, dtype=float)
    if not np.all(np.isfinite(h)):
        raise FitError("the information matrix at the optimum is not finite (the likelihood is degenerate there)")
    try:
        cov = np.linalg.inv(h)
        ok = np.all(np.isfinite(np.diag(cov))) and not np.any(np.diag(cov) < 0)
    except np.linalg.LinAlgError:
        ok = False
    if not ok:
        try:
            cov = np.linalg.pinv(h)
        except np.linalg.LinAlgError as err:
            raise FitError(f"the covariance of the fit could not be computed ({err})") from err
        cov[np.diag_indices_from(cov)] = np.abs(np.diag(cov))
    return cov


def _check_flat(cov: np.ndarray, names: list[str]) -> None:
    """FitError naming the parameters (log scale) whose SE is above MAX_LOG_SE: there the
    likelihood is flat, the MLE does not exist (it runs off to 0 or infinity) and the
    optimiser stopped somewhere along the way. A real SE is about 1 / sqrt(events)."""
    se = np.sqrt(np.abs(np.diag(cov)))
    flat = tuple(name for name, s in zip(names, se) if not s <= MAX_LOG_SE)
    if flat:
        raise FitError("the likelihood is flat in some parameters: the data cannot identify them (their "
                       "estimates run off to 0 or infinity)", flat)


def _event_count(t, d, w, family: str) -> float:
    """The (weighted) number of events; FitError when a two-parameter `family` cannot be fitted
    to them: no events, or events at fewer than MIN_EVENT_DURATIONS different durations."""
    ev = float(np.sum(w * d))
    if not ev > 0:
        raise FitError(f"no events: a {family} cannot be estimated")
    n_times = len(np.unique(t[w * d > 0]))
    if n_times < MIN_EVENT_DURATIONS:
        what = "a single event" if n_times == 1 and np.count_nonzero(w * d > 0) == 1 else "events all at one duration"
        raise FitError(f"{what}: a {family} needs events at {MIN_EVENT_DURATIONS} or more different durations "
                       "to estimate its spread")
    return ev


def _check_fit(family: str, x, log_scale: float, spread: float) -> None:
    """FitError unless the optimum `x` is finite, its log scale (log days) within
    +-MAX_LOG_SCALE and its spread (sd of log duration) in [MIN_LOG_SPREAD, MAX_LOG_SPREAD]."""
    if not (np.all(np.isfinite(x)) and math.isfinite(log_scale) and math.isfinite(spread)):
        raise FitError(f"the {family} fit did not converge (non-finite parameters)")
    if spread < MIN_LOG_SPREAD:
        raise FitError(f"the {family} fit collapsed onto a single duration (no spread)")
    if spread > MAX_LOG_SPREAD or abs(log_scale) > MAX_LOG_SCALE:
        raise FitError(f"the {family} fit ran off to an unbounded spread or scale")


# ------------------------------------------------------------------ exponential
def fit_exponential(durations, events, entry=None, weights=None) -> Fit:
    """Constant hazard with right-censoring: mean = exposure / events. SE(log) = 1/sqrt(events)."""
    t, d, a, w = _prep(durations, events, entry, weights)
    exposure = float(np.sum(w * (t - a)))
    ev = float(np.sum(w * d))
    if ev <= 0:
        raise FitError("no events: an exponential mean cannot be estimated")
    mean = exposure / ev
    ll = float(np.sum(w * (d * -np.log(mean)))) - exposure / mean
    return Fit("exponential", {"mean_days": mean}, {"mean_days": 1 / math.sqrt(ev)}, ll, len(t), ev, exposure)


# ------------------------------------------------------------------ Weibull
def _weibull_negll(x, t, d, a, w):
    log_k, log_s = x
    k = math.exp(log_k)
    lt, la = np.log(t), np.log(np.maximum(a, 1e-300))
    z = np.exp(k * (lt - log_s))
    za = np.where(a > 0, np.exp(k * (la - log_s)), 0.0)
    ll = d * (log_k - log_s + (k - 1) * (lt - log_s)) - z + za
    return -float(np.sum(w * ll))


def fit_weibull(durations, events, entry=None, weights=None) -> Fit:
    """Weibull by maximum likelihood with right-censoring (and delayed entry)."""
    t, d, a, w = _prep(durations, events, entry, weights)
    ev = _event_count(t, d, w, "Weibull")
    exposure = float(np.sum(w * (t - a)))
    x0 = np.array([0.0, math.log(exposure / ev)])
    res = optimize.minimize(_weibull_negll, x0, args=(t, d, a, w), method="Nelder-Mead",
                            options={"xatol": 1e-8, "fatol": 1e-10, "maxiter": 4000})
    res = optimize.minimize(_weibull_negll, res.x, args=(t, d, a, w), method="BFGS")
    x = np.asarray(res.x, dtype=float)
    # the sd of log duration of a Weibull is pi / (shape sqrt 6)
    _check_fit("Weibull", x, x[1], math.pi / math.sqrt(6) * math.exp(-float(np.clip(x[0], -700, 700))))
    k, s = math.exp(x[0]), math.exp(x[1])
    cov = safe_inverse(numerical_hessian(lambda x: _weibull_negll(x, t, d, a, w), res.x))
    se = np.sqrt(np.diag(cov))
    return Fit("weibull", {"shape": k, "scale_days": s}, {"shape": float(se[0]), "scale_days": float(se[1])},
               -float(res.fun), len(t), ev, exposure, {"cov_log": cov})


# ------------------------------------------------------------------ lognormal
_HALF_LOG_2PI = 0.5 * math.log(2 * math.pi)


def _lognormal_negll_grad(x, lt, d, la, w, has_entry):
    """Negative log-likelihood of a censored lognormal in (mu, log sigma), and its gradient."""
    mu, log_sigma = x
    sigma = math.exp(log_sigma)
    z = (lt - mu) / sigma
    log_s = special.log_ndtr(-z)
    log_phi = -0.5 * z**2 - _HALF_LOG_2PI
    h = np.exp(log_phi - log_s)  # hazard of the standard normal at z
    ll = d * (log_phi - log_sigma - lt) + (1 - d) * log_s
    g_mu = d * z / sigma + (1 - d) * h / sigma
    g_ls = d * (z**2 - 1) + (1 - d) * h * z
    if has_entry is not None:
        za = (la[has_entry] - mu) / sigma
        log_sa = special.log_ndtr(-za)
        ha = np.exp(-0.5 * za**2 - _HALF_LOG_2PI - log_sa)
        we = w[has_entry]
        total = float(np.sum(w * ll) - np.sum(we * log_sa))
        gm = float(np.sum(w * g_mu) - np.sum(we * ha / sigma))
        gs = float(np.sum(w * g_ls) - np.sum(we * ha * za))
    else:
        total = float(np.sum(w * ll))
        gm, gs = float(np.sum(w * g_mu)), float(np.sum(w * g_ls))
    return -total, -np.array([gm, gs])


def fit_lognormal(durations, events, entry=None, weights=None, x0=None) -> Fit:
    """Lognormal by maximum likelihood with right-censoring (and delayed entry).

    params: mu, sigma (of log days), mean_days, sd_days; se_log has mean_days (delta method).
    """
    t, d, a, w = _prep(durations, events, entry, weights)
    ev = _event_count(t, d, w, "lognormal")
    lt = np.log(t)
    has_entry = a > 0
    la = np.log(np.where(has_entry, a, 1.0))
    he = has_entry if has_entry.any() else None
    if x0 is None:
        evw = w * d
        mu0 = float(np.sum(evw * lt) / ev)
        sd0 = float(np.sqrt(np.sum(evw * (lt - mu0) ** 2) / ev)) or 0.5
        x0 = np.array([mu0 + 0.5 * sd0, math.log(max(sd0, 0.05))])
    fg = lambda x: _lognormal_negll_grad(x, lt, d, la, w, he)
    res = optimize.minimize(fg, np.asarray(x0, dtype=float), jac=True, method="BFGS", options={"gtol": 1e-8})
    x = np.asarray(res.x, dtype=float)
    _check_fit("lognormal", x, x[0], math.exp(float(np.clip(x[1], -700, 700))))
    mu, sigma = float(x[0]), math.exp(x[1])
    mean = math.exp(mu + sigma**2 / 2)
    sd = mean * math.sqrt(math.expm1(sigma**2))
    cov = safe_inverse(hessian_from_gradient(lambda x: fg(x)[1], res.x))
    # log mean = mu + exp(2 log_sigma) / 2: gradient (1, sigma^2)
    g = np.array([1.0, sigma**2])
    se_log_mean = float(np.sqrt(max(g @ cov @ g, 0.0)))
    return Fit("lognormal", {"mu": mu, "sigma": sigma, "mean_days": mean, "sd_days": sd},
               {"mean_days": se_log_mean, "sigma": float(math.sqrt(max(cov[1, 1], 0.0))),
                "mu_abs": float(math.sqrt(max(cov[0, 0], 0.0)))},
               -float(res.fun), len(t), ev, float(np.sum(w * (t - a))), {"cov": cov, "x": res.x})


# ------------------------------------------------------------------ Kaplan-Meier
def kaplan_meier(durations, events, at_days) -> np.ndarray:
    """Kaplan-Meier survival at the given days (events may be fractional)."""
    t = np.maximum(np.asarray(durations, dtype=float), MIN_DAYS)
    d = np.asarray(events, dtype=float)
    order = np.argsort(t, kind="stable")
    t, d = t[order], d[order]
    uniq, first = np.unique(t, return_index=True)
    deaths = np.add.reduceat(d, first) if len(t) else np.zeros(0)
    at_risk = len(t) - first
    surv = np.cumprod(1 - deaths / at_risk)
    out = []
    for x in np.atleast_1d(at_days):
        i = np.searchsorted(uniq, x, side="right") - 1
        out.append(1.0 if i < 0 else float(surv[i]))
    return np.array(out)


# ------------------------------------------------------------------ Poisson regression
@dataclass
class PoissonFit:
    coef: np.ndarray
    cov: np.ndarray
    loglik: float

    def se(self) -> np.ndarray:
        return np.sqrt(np.maximum(np.diag(self.cov), 0))


def poisson_regression(events, exposure, X, max_iter: int = 100, tol: float = 1e-10) -> PoissonFit:
    """log E[events] = X @ coef + log(exposure), by Newton-Raphson (maximum likelihood).

    Rows are cells (e.g. legal status x age band) with their events and days at risk; events
    may be fractional. Every column of X must have some events among its rows, or its
    coefficient runs off to minus infinity: callers drop such levels first. Even then some
    cells without events can have no finite MLE (e.g. an event-free reference cell whose status
    and band have events only in cells of their own): FitError, its params "row:i" (rows of X).
    """
    y = np.asarray(events, dtype=float)
    e = np.asarray(exposure, dtype=float)
    X = np.asarray(X, dtype=float)
    keep = e > 0
    rows = np.flatnonzero(keep)
    y, e, X = y[keep], e[keep], X[keep]
    if not len(y):  # QA21: periods all ending the day they began left no time at risk (a numpy warning)
        raise FitError("no time at risk: every cell has zero exposure")
    stuck = _poisson_runaway_rows(y, X)
    if len(stuck):
        raise FitError("the Poisson regression has no finite maximum: cells without events whose rate runs "
                       "off to 0", tuple(f"row:{rows[i]}" for i in stuck))
    coef, *_ = np.linalg.lstsq(X, np.full(len(y), math.log(max(y.sum(), 1e-9) / e.sum())), rcond=None)

    def ll(c):
        eta = X @ c + np.log(e)
        return float(np.sum(y * eta - np.exp(eta)))

    cur = ll(coef)
    for _ in range(max_iter):
        mu = np.exp(X @ coef) * e
        grad = X.T @ (y - mu)
        info = X.T @ (X * mu[:, None])
        step = np.linalg.solve(info + 1e-12 * np.eye(len(coef)), grad)
        s = 1.0
        while s > 1e-6:
            new = coef + s * step
            val = ll(new)
            if val >= cur - 1e-12:
                break
            s /= 2
        coef, prev, cur = new, cur, val
        if abs(cur - prev) < tol and np.max(np.abs(s * step)) < 1e-8:
            break
    if not (np.all(np.isfinite(coef)) and math.isfinite(cur)):
        raise FitError("the Poisson regression did not converge (non-finite coefficients)")
    mu = np.exp(X @ coef) * e
    cov = safe_inverse(X.T @ (X * mu[:, None]))
    _check_flat(cov, [f"coef:{j}" for j in range(len(coef))])
    return PoissonFit(coef, cov, cur)


def _poisson_runaway_rows(y: np.ndarray, X: np.ndarray, tiny: float = NEGLIGIBLE_EVENTS) -> np.ndarray:
    """Rows without events (y <= tiny) whose fitted rate can run off to 0 without changing any
    row with events: a direction v with X v = 0 on rows with events and X v <= 0 on the rest,
    somewhere < 0, along which the log-likelihood keeps rising (the MLE does not exist). Found
    by a linear programme; empty when the MLE exists."""
    zero = y <= tiny
    if zero.all() or not zero.any():  # no events anywhere: every rate runs off; events everywhere: none
        return np.flatnonzero(zero)
    Z, P = X[zero], X[~zero]
    n = X.shape[1]
    res = optimize.linprog(Z.sum(0), A_ub=np.vstack([Z, -Z]), b_ub=np.r_[np.zeros(len(Z)), np.ones(len(Z))],
                           A_eq=P, b_eq=np.zeros(len(P)), bounds=[(None, None)] * n, method="highs")
    if res.status != 0 or res.fun > -1e-7:
        return np.zeros(0, dtype=int)
    return np.flatnonzero(zero)[Z @ res.x < -1e-7]


# ------------------------------------------------------------------ cure model
@dataclass
class CureFit:
    """P(event ever) by group, and an exponential time to it among those who have it."""

    p: np.ndarray  # per group (nan where the group has no data)
    p_se: np.ndarray
    n: np.ndarray
    events: np.ndarray
    mean_days: float
    se_log_mean: float
    loglik: float


def fit_cure_exponential(durations, events, groups, n_groups: int) -> CureFit:
    """Mixture cure model: with probability p_g the event happens after Exp(mean) days, else
    never; right-censored observations contribute (1 - p + p exp(-t/mean)).

    This is how the model draws s20 -> proceedings, re-entry and age assessments: a
    probability, then a delay, competing with everything else that can end the spell.
    """
    t = np.maximum(np.asarray(durations, dtype=float), MIN_DAYS)
    d = np.asarray(events, dtype=float) > 0
    g = np.asarray(groups, dtype=int)
    n = np.bincount(g, minlength=n_groups).astype(float)
    ev = np.bincount(g, weights=d.astype(float), minlength=n_groups)
    free = np.flatnonzero(ev > 0)
    if len(free) == 0:
        p = np.where(n > 0, 0.0, np.nan)
        return CureFit(p, np.where(n > 0, 0.0, np.nan), n, ev, math.nan, math.nan, 0.0)
    sel = np.isin(g, free)
    t, d, g = t[sel], d[sel], g[sel]
    col = np.searchsorted(free, g)

    def negll(x):
        logit = x[:-1][col]
        lam = math.exp(-x[-1])
        logp = -np.logaddexp(0, -logit)
        log1mp = -np.logaddexp(0, logit)
        ll_ev = logp - x[-1] - lam * t
        ll_c = np.logaddexp(log1mp, logp - lam * t)
        return -float(np.sum(np.where(d, ll_ev, ll_c)))

    p0 = np.clip(ev[free] / n[free], 0.02, 0.98)
    mean0 = float(np.sum(t[d]) / max(d.sum(), 1))
    x0 = np.concatenate([np.log(p0 / (1 - p0)), [math.log(max(mean0, 1.0))]])
    res = optimize.minimize(negll, x0, method="BFGS")
    res = optimize.minimize(negll, res.x, method="Nelder-Mead",
                            options={"xatol": 1e-8, "fatol": 1e-10, "maxiter": 20000})
    cov = safe_inverse(numerical_hessian(negll, res.x))
    logits = np.clip(res.x[:-1], -30, 30)
    pf = special.expit(logits)
    p = np.where(n > 0, 0.0, np.nan)
    p_se = np.where(n > 0, 0.0, np.nan)
    p[free] = pf
    p_se[free] = pf * (1 - pf) * np.sqrt(np.maximum(np.diag(cov)[:-1], 0))
    return CureFit(p, p_se, n, ev, math.exp(res.x[-1]), float(math.sqrt(max(cov[-1, -1], 0))), -float(res.fun))


# ------------------------------------------------------------------ priors from estimates
def beta_from_counts(successes: float, failures: float) -> tuple[float, float]:
    """Beta(successes + 1, failures + 1): the posterior of a proportion under a flat prior."""
    return float(successes) + 1.0, float(failures) + 1.0


def beta_from_mean_se(mean: float, se: float, floor: float = 1.0) -> tuple[float, float]:
    """A Beta with this mean and standard error (moment matching); each shape at least `floor`."""
    mean = min(max(mean, 1e-6), 1 - 1e-6)
    if not np.isfinite(se) or se <= 0:
        n = 1e4
    else:
        n = max(mean * (1 - mean) / se**2 - 1, 1.0)
    a, b = mean * n, (1 - mean) * n
    if min(a, b) < floor:
        scale = floor / min(a, b)
        a, b = a * scale, b * scale
    return float(a), float(b)


def beta_interval(alpha: float, beta: float, level: float = 0.90) -> tuple[float, float]:
    lo = (1 - level) / 2
    return float(stats.beta.ppf(lo, alpha, beta)), float(stats.beta.ppf(1 - lo, alpha, beta))


def lognormal_interval(median: float, sigma: float, z: float = Z90) -> tuple[float, float]:
    if not np.isfinite(sigma) or z * sigma > 700:
        return (math.nan, math.nan)
    return median * math.exp(-z * sigma), median * math.exp(z * sigma)


# ------------------------------------------------------------------ Weibull with a shared age effect
@dataclass
class GroupWeibullFit:
    """Weibull per group (placement type) with log-scale effects shared across groups by band
    (an accelerated-failure-time model: the config's days_to_move_multiplier_by_age_band)."""

    shape: np.ndarray  # per group (1.0 where the group is exponential)
    scale: np.ndarray  # per group, days, at the reference band's multiplier
    band_log_mult: np.ndarray  # per band (reference fixed; nan where no spells)
    cov: np.ndarray
    index: dict  # parameter name -> position in cov
    loglik_by_group: np.ndarray
    loglik: float

    def se(self, name: str) -> float:
        i = self.index.get(name)
        return math.nan if i is None else float(math.sqrt(max(self.cov[i, i], 0.0)))


def fit_weibull_groups(durations, events, group, n_groups: int, band, n_bands: int, ref_band: int,
                       ref_log_mult: float = 0.0, exponential_groups=(),
                       fixed_log_mult: dict | None = None) -> GroupWeibullFit:
    """Maximum likelihood for scale_i = scale[group] x mult[band], shape per group.

    Groups listed in `exponential_groups` keep shape 1. Groups must have events; bands
    without spells are left out (their multiplier is nan). The reference band's log
    multiplier is fixed at `ref_log_mult` (the multipliers are only identified up to a
    common factor, which goes into the scales), and band k's at `fixed_log_mult[k]` (a band
    without events, whose multiplier would run off to infinity). A fit the data cannot
    identify (a parameter's SE above MAX_LOG_SE, a collapsed shape) raises FitError.
    """
    t = np.maximum(np.asarray(durations, dtype=float), MIN_DAYS)
    d = np.asarray(events, dtype=float)
    g = np.asarray(group, dtype=int)
    b = np.asarray(band, dtype=int)
    lt = np.log(t)
    expo = {int(x) for x in exponential_groups}
    groups = sorted(set(g.tolist()))
    fixed = {int(k): float(v) for k, v in (fixed_log_mult or {}).items()}
    fixed[ref_band] = ref_log_mult
    offset = np.array([fixed.get(k, 0.0) for k in range(n_bands)])[b]  # log multiplier of fixed bands
    bands = sorted(set(b.tolist()) - set(fixed))
    index: dict[str, int] = {}
    for k in groups:
        index[f"log_scale:{k}"] = len(index)
        if k not in expo:
            index[f"log_shape:{k}"] = len(index)
    for k in bands:
        index[f"band:{k}"] = len(index)
    n_par = len(index)
    i_scale = np.array([index.get(f"log_scale:{k}", -1) for k in range(n_groups)])
    i_shape = np.array([index.get(f"log_shape:{k}", -1) for k in range(n_groups)])
    i_band = np.array([index.get(f"band:{k}", -1) for k in range(n_bands)])
    col_scale, col_shape, col_band = i_scale[g], i_shape[g], i_band[b]

    def unpack(x):
        log_scale = x[col_scale] + np.where(col_band >= 0, x[np.maximum(col_band, 0)], offset)
        log_k = np.where(col_shape >= 0, x[np.maximum(col_shape, 0)], 0.0)
        return log_scale, log_k

    def parts(x):
        log_scale, log_k = unpack(x)
        k = np.exp(log_k)
        r = k * (lt - log_scale)
        z = np.exp(np.minimum(r, 700))
        ll = d * (log_k - lt + r) - z
        return ll, k, r, z

    def negll(x):
        return -float(np.sum(parts(x)[0]))

    def grad(x):
        _, k, r, z = parts(x)
        d_scale = k * (z - d)
        d_shape = d * (1 + r) - z * r
        out = np.zeros(n_par)
        np.add.at(out, col_scale, d_scale)
        m = col_shape >= 0
        np.add.at(out, col_shape[m], d_shape[m])
        m = col_band >= 0
        np.add.at(out, col_band[m], d_scale[m])
        return -out

    x0 = np.zeros(n_par)
    for k in groups:
        sel = g == k
        x0[index[f"log_scale:{k}"]] = math.log(max(t[sel].sum() / max(d[sel].sum(), 0.5), 1.0)) - ref_log_mult
    res = optimize.minimize(negll, x0, jac=grad, method="L-BFGS-B",
                            options={"maxiter": 5000, "ftol": 1e-13, "gtol": 1e-8})
    res = optimize.minimize(negll, res.x, jac=grad, method="BFGS", options={"gtol": 1e-7})
    x = np.asarray(res.x, dtype=float)
    if not (np.all(np.isfinite(x)) and math.isfinite(res.fun)):
        raise FitError("the grouped Weibull fit did not converge (non-finite parameters)")
    cov = safe_inverse(hessian_from_gradient(grad, x))
    # e.g. a type whose moves are all in one band that no other type's moves share, with its
    # other spells elsewhere: its scale runs off to infinity and that band's multiplier to 0
    _check_flat(cov, list(index))
    log_shapes = [x[index[f"log_shape:{k}"]] for k in groups if k not in expo]
    if any(math.pi / math.sqrt(6) * math.exp(-min(v, 700.0)) < MIN_LOG_SPREAD for v in log_shapes):
        raise FitError("the grouped Weibull fit collapsed onto a single duration (no spread)")
    shape = np.ones(n_groups)
    scale = np.full(n_groups, math.nan)
    for k in groups:
        scale[k] = math.exp(x[index[f"log_scale:{k}"]])
        if k not in expo:
            shape[k] = math.exp(x[index[f"log_shape:{k}"]])
    band_log = np.full(n_bands, math.nan)
    for k in set(b.tolist()):
        band_log[k] = fixed[k] if k in fixed else x[index[f"band:{k}"]]
    ll = parts(x)[0]
    ll_by_group = np.bincount(g, weights=ll, minlength=n_groups)
    return GroupWeibullFit(shape, scale, band_log, cov, index, ll_by_group, float(ll.sum()))
