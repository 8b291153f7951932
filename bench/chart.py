#!/usr/bin/env python3
"""Draws the rows of `bench/compare.sh --json FILE` as a PNG bar chart.

    bench/chart.py RESULTS.json OUT.png

One horizontal bar per row: the ratio sandbox-ssh / OpenSSH sshd, on a log scale (a row at 0.5
and one at 2 are the same distance from parity), with a line at 1.0. Whether a ratio above 1 is
good depends on the unit (MB/s: higher is better; ms, CPU s/GB, memory: lower), so the colour
says who came out ahead, and each bar is labelled with both raw values. Rows without a ratio
(the agent, which sshd has no counterpart of; a failed measure) are listed with their values.

Needs matplotlib (Debian: apt-get install python3-matplotlib, then run it with /usr/bin/python3).
"""
import json
import sys

try:
    import matplotlib

    matplotlib.use("Agg")  # no display needed
    import matplotlib.pyplot as plt
except ImportError:
    sys.exit(
        "bench/chart.py needs matplotlib, which this python (%s) lacks.\n"
        "  Debian/Ubuntu: apt-get install -y python3-matplotlib, then run /usr/bin/python3 bench/chart.py ...\n"
        "  elsewhere:     python3 -m pip install matplotlib" % sys.executable
    )

GATEWAY_AHEAD = "#3a7d44"
SSHD_AHEAD = "#c0504d"


def fmt(v, note):
    if v is None:
        return note or "-"
    return "%g" % v


def main(argv):
    if len(argv) != 3:
        sys.exit("usage: bench/chart.py RESULTS.json OUT.png")
    with open(argv[1]) as f:
        doc = json.load(f)
    rows = doc["rows"]
    with_ratio = [r for r in rows if r.get("ratio")]
    without = [r for r in rows if not r.get("ratio")]

    height = 1.6 + 0.32 * len(with_ratio) + 0.22 * len(without)
    fig, ax = plt.subplots(figsize=(11, height))
    ys = range(len(with_ratio))[::-1]  # first row on top, as in the table
    colors = []
    for r in with_ratio:
        gateway_ahead = r["ratio"] > 1 if r["better"] == "higher" else r["ratio"] < 1
        colors.append(GATEWAY_AHEAD if gateway_ahead else SSHD_AHEAD)
    # Bars start at 1.0, so each one reaches from parity to its ratio.
    ax.barh(list(ys), [r["ratio"] - 1 for r in with_ratio], left=1, color=colors, height=0.7)
    ax.set_xscale("log")
    ax.axvline(1.0, color="black", linewidth=1)
    ax.set_yticks(list(ys))
    ax.set_yticklabels(["%s (%s)" % (r["name"], r["unit"]) for r in with_ratio], fontsize=8)
    lo = min([r["ratio"] for r in with_ratio] + [1]) / 1.6
    hi = max([r["ratio"] for r in with_ratio] + [1]) * 3.5  # room for the labels on the right
    ax.set_xlim(lo, hi)
    for y, r in zip(ys, with_ratio):
        label = "%.2fx  (%s vs %s)" % (r["ratio"], fmt(r["gateway"], None), fmt(r["sshd"], None))
        x = max(r["ratio"], 1)
        ax.text(x * 1.05, y, label, va="center", fontsize=7)
    ax.set_xlabel("sandbox-ssh / OpenSSH sshd (log scale; labels: ratio (sandbox-ssh vs sshd))")
    ax.grid(axis="x", which="both", alpha=0.3)
    ax.legend(
        handles=[
            plt.Rectangle((0, 0), 1, 1, color=GATEWAY_AHEAD),
            plt.Rectangle((0, 0), 1, 1, color=SSHD_AHEAD),
        ],
        labels=["sandbox-ssh ahead", "OpenSSH sshd ahead"],
        loc="lower right",
        fontsize=8,
    )
    title = "sandbox-ssh vs %s on loopback, %s cores, %s%s" % (
        doc.get("openssh", "OpenSSH"),
        doc.get("cores", "?"),
        str(doc.get("date", ""))[:10],
        " (--quick)" if doc.get("quick") else "",
    )
    ax.set_title(title, fontsize=10)
    notes = ["default cipher: sshd %s, gateway %s; server CPU: %s" % (
        doc.get("default_cipher_sshd", "?"),
        doc.get("default_cipher_gateway", "?"),
        doc.get("cpu_accounting", "?"),
    )]
    if doc.get("bench_agent_starts", 1) > 1:
        notes.append(
            "the bench sandbox's agent started %d times (1 expected): some gateway sessions include a cold start"
            % doc["bench_agent_starts"]
        )
    for r in without:
        notes.append(
            "%s (%s): sshd %s, sandbox-ssh %s"
            % (r["name"], r["unit"], fmt(r["sshd"], r.get("sshd_note")), fmt(r["gateway"], r.get("gateway_note")))
        )
    fig.text(0.01, 0.005, "\n".join(notes), fontsize=7, va="bottom")
    fig.tight_layout(rect=(0, 0.012 * (len(notes) + 1) * 11 / height, 1, 1))
    fig.savefig(argv[2], dpi=110)
    print("wrote", argv[2])


if __name__ == "__main__":
    main(sys.argv)
