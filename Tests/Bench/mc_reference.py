#!/usr/bin/env python3
"""A vectorised numpy implementation of `shock mc` on the reference deal
(Tests/Bench/mc-reference.dsh), written from the model as the README
describes it: the four correlated monthly factors with their stress regime,
tenant defaults, the structural waterfall of one floating-rate level loan
(the SPV's own cash, which it passes up to its sponsor every month it has
paid; a guarantor paying calls from its own $2m until it cannot, then in
default), and the fire sale of the fleet and the coins after a default.

It checks that dealsh agrees on the probability of default and the expected
loss within Monte Carlo error, and prints the speed of both.

Usage: mc_reference.py PATH/TO/dealsh [PATHS]
The only input taken from dealsh is the fleet's market-value curve
(`depreciate months=62 --json`), the price the sale starts from.
"""
import json
import math
import subprocess
import sys
import time

import numpy as np

DEAL = "Tests/Bench/mc-reference.dsh"
MONTHS = 60


def dealsh(binary, *commands):
    """Runs commands after building the reference deal; returns stdout."""
    line = "; ".join(("source " + DEAL,) + commands)
    return subprocess.run([binary, "-c", line], check=True, capture_output=True, text=True).stdout


def last_json(text):
    """The JSON document at the end of a transcript of commands."""
    start = text.rindex("\n{\n") + 1 if "\n{\n" in text else text.index("{")
    return json.loads(text[start:])


def reference(paths, curve, seed=1):
    rng = np.random.default_rng(seed)
    n = paths
    # The model's parameters (MonteCarloModel defaults) and the deal.
    corr, converge = 0.3, 0.9
    spot_vol, util_vol, reversion, rate_vol, drawdown = 0.25, 0.03, 0.15, 0.01, 0.30
    btc_vol = 0.55
    base_rate = 0.043
    units, hours = 2000.0, 730.0
    rate_contract, take_or_pay, utilization, lease_term = 2.0, 0.60, 0.85, 24
    spot_rate, deflation = 2.0, 0.25
    power = units * 1.2 * 1.3 * hours * 0.06
    opex = power + units * 200.0
    amount, spread, term = 16e6, 0.06, 48
    tenant_pd = 0.03

    def chol(rho):
        return np.linalg.cholesky(np.full((4, 4), rho) + np.eye(4) * (1 - rho))

    calm, stress = chol(corr), chol(converge)
    sv, bv, rv = spot_vol / math.sqrt(12), btc_vol / math.sqrt(12), rate_vol / math.sqrt(12)
    floor = math.log(1 - drawdown)

    log_spot = np.zeros(n)
    log_btc = np.zeros(n)
    spot_hist = np.zeros((MONTHS, n))
    btc_hist = np.zeros((MONTHS, n))
    util = np.zeros(n)
    rate = np.zeros(n)
    h = 1 - (1 - tenant_pd) ** (1 / 12)
    u = 1 - rng.random(n)  # (0, 1]
    lease_lost = np.maximum(1, np.ceil(np.log(u) / math.log(1 - h)))

    balance = np.zeros(n)
    co_cash = np.zeros(n)  # the SPV's account (may go negative: costs are never dropped)
    hold_cash = np.full(n, 2e6)  # the guarantor's
    hold_default = np.zeros(n, dtype=bool)
    defaulted = np.zeros(n, dtype=bool)
    default_month = np.zeros(n, dtype=int)
    claim = np.zeros(n)
    btc_at_default = np.ones(n)

    for k in range(MONTHS):  # k = month index, deal month k + 1
        m = k + 1
        before_spot = spot_hist[k - 12] if k >= 12 else 0.0
        before_btc = btc_hist[k - 12] if k >= 12 else 0.0
        in_stress = (log_spot - before_spot < floor) | (log_btc - before_btc < floor)
        z = rng.standard_normal((n, 4))
        x = np.where(in_stress[:, None], z @ stress.T, z @ calm.T)
        log_spot += sv * x[:, 0] - sv * sv / 2
        log_btc += bv * x[:, 1] - bv * bv / 2
        spot_hist[k] = log_spot
        btc_hist[k] = log_btc
        util = util * (1 - reversion) + util_vol * x[:, 2]
        rate -= rv * x[:, 3]
        spot_factor = np.exp(log_spot)

        # Revenue, operating cost, cash available.
        u_m = np.clip(utilization + np.clip(util, -1, 1), 0, 1)
        capacity = units * hours
        spot = spot_rate * (1 - deflation) ** (m / 12)
        contracted = (m <= lease_term) & (m < lease_lost)
        revenue = np.where(contracted, capacity * rate_contract * np.maximum(u_m, take_or_pay),
                           capacity * u_m * spot * spot_factor)
        co_cash += revenue - opex

        # The loan: drawn in month 1, level payments re-priced on the floating rate.
        if m == 1:
            balance[:] = amount
        if m <= term:
            live = ~defaulted & (balance > 0.005)
            r = (np.maximum(0, base_rate + rate) + spread) / 12
            left = term - m + 1
            pmt = balance * r / (1 - (1 + r) ** (-left))
            interest = balance * r
            principal = balance if m == term else np.clip(pmt - interest, 0, balance)
            due = interest + principal
            # The SPV pays from its cash, then calls the guarantor, which
            # pays from its own until it cannot (then it is in default and
            # pays no more calls).
            own = np.where(live, np.minimum(np.maximum(0, co_cash), due), 0)
            co_cash -= own
            call = np.where(live, due - own, 0)
            called = live & (call > 0.005)
            can = called & ~hold_default
            from_hold = np.where(can, np.minimum(np.maximum(0, hold_cash), call), 0)
            hold_cash -= from_hold
            short = called & (from_hold < call - 0.005)
            hold_default |= can & short
            paid = own + from_hold
            fails = live & short
            # The claim: the balance and the interest due, less what was paid.
            claim[fails] = balance[fails] + interest[fails] - paid[fails]
            default_month[fails] = m
            btc_at_default[fails] = np.exp(log_btc[fails])
            defaulted |= fails
            pays = live & ~fails
            balance[pays] -= principal[pays]
        # What the SPV keeps goes up to its sponsor, unless it is in default.
        up = ~defaulted & (co_cash > 0.005)
        co_cash[up] = 0.0

    # The fire sale after a default in month d (LiquidationParameters defaults).
    depth, impact, cooling_max, carry, workout, discount, slippage = 2000.0, 0.20, 0.30, 0.50, 0.05, 0.12, 0.005
    rm = (1 + discount) ** (1 / 12) - 1
    hostable = (0.07 * 0.30)  # 80 kW racks, liquid cooled
    haircut = cooling_max * (1 - hostable)
    carry_unit = (1.2 * 1.3 * hours * 0.06 + 200.0) * carry
    pace = min(units, depth)
    price_factor = (1 - min(0.95, impact * pace / depth)) * (1 - haircut)
    curve = np.asarray(curve)
    d = default_month[defaulted]
    value_next = curve[np.minimum(d + 1, len(curve)) - 1]  # sold in month d + 1
    fleet = np.maximum(0, (value_next * price_factor * (1 - workout) - units * carry_unit) / (1 + rm))
    coins = 20 * 90000.0 * btc_at_default[defaulted]
    slip = np.minimum(0.5, slippage * np.sqrt(coins / 1e7))
    coins_net = coins * (1 - slip) / (1 + rm)
    loss = np.zeros(n)
    loss[defaulted] = np.maximum(0, claim[defaulted] - np.minimum(claim[defaulted], fleet + coins_net))
    return defaulted.mean(), loss


def main():
    binary = sys.argv[1] if len(sys.argv) > 1 else ".build/release/dealsh"
    paths = int(sys.argv[2]) if len(sys.argv) > 2 else 100_000
    curve = last_json(dealsh(binary, "depreciate months=62 --json"))["assets"]["fleet"]["market_value"]

    # dealsh: the command's own time (the run less the same run without
    # it). The two sides are timed in turns, five times each, and each
    # side's best time kept: the usual guard against a shared machine's
    # pauses, and in turns so that a slow spell of the machine falls on
    # both sides alike (it favours neither).
    reference(1000, curve)  # warm-up
    base = t_run = t_numpy = float("inf")
    text = pd_r = loss = None
    for _ in range(5):
        t0 = time.perf_counter()
        dealsh(binary, "deal")
        base = min(base, time.perf_counter() - t0)
        t0 = time.perf_counter()
        text = dealsh(binary, f"shock mc paths={paths} seed=1 --json")
        t_run = min(t_run, time.perf_counter() - t0)
        t0 = time.perf_counter()
        pd_r, loss = reference(paths, curve)
        t_numpy = min(t_numpy, time.perf_counter() - t0)
    t_dealsh = max(1e-6, t_run - base)
    out = last_json(text)
    pd_d = out["pd"]
    el_d = out["facilities"]["loan"]["expected_loss"]

    el_r = loss.mean()

    se_pd = math.sqrt(pd_r * (1 - pd_r) * 2 / paths)
    se_el = loss.std(ddof=1) * math.sqrt(2 / paths)
    pd_ok = abs(pd_d - pd_r) <= 4 * se_pd + 1e-4
    el_ok = abs(el_d - el_r) <= 4 * se_el + 1.0
    pm = paths * MONTHS / 1e6
    print(f"{'ok  ' if pd_ok else 'MISS'} Monte Carlo reference (numpy), PD         dealsh {pd_d:.4f}  numpy {pd_r:.4f}  (4 s.e. = {4 * se_pd:.4f})")
    print(f"{'ok  ' if el_ok else 'MISS'} Monte Carlo reference (numpy), EL         dealsh ${el_d:,.0f}  numpy ${el_r:,.0f}  (4 s.e. = ${4 * se_el:,.0f})")
    ratio = t_numpy / t_dealsh
    print(f"{'ok  ' if ratio >= 3 else 'MISS'} Monte Carlo speed, {paths:,} paths x {MONTHS} months   dealsh {t_dealsh:.2f} s ({pm / t_dealsh:.1f} M path-months/s), "
          f"numpy {t_numpy:.2f} s ({pm / t_numpy:.1f} M/s): {ratio:.1f}x   target >= 3x")
    return 0 if pd_ok and el_ok else 1


if __name__ == "__main__":
    sys.exit(main())
