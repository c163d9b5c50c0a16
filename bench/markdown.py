"""``benchmarks.md``: the results as tables for people, with the machine described.

    text = render(results)          # results as built by bench.report.summarize
"""

from __future__ import annotations

from typing import Any


def _fmt(value: Any, digits: int = 0) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:,.{digits}f}"
    return str(value)


def _mmm(figure: dict[str, Any] | None, digits: int = 0) -> str:
    """``median (min–max)``; "—" when nothing was measured."""
    if not figure or figure.get("median") is None:
        return "—"
    return f"{_fmt(figure['median'], digits)} ({_fmt(figure['min'], digits)}–{_fmt(figure['max'], digits)})"


def _oneline(text: str, limit: int = 240) -> str:
    """``text`` fit for a table cell: one line, no pipes, shortened."""
    flat = " ".join(text.replace("|", "/").split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return lines + [""]


def render(results: dict[str, Any]) -> str:
    s = results["sections"]
    m = results["machine"]
    settings = results["settings"]
    out: list[str] = ["# evgen benchmarks", ""]
    if results.get("smoke"):
        out += ["**SMOKE RUN** — tiny inputs and one run per figure: it proves the suite works, the numbers "
                "mean nothing.", ""]
    out += [
        f"Generated {results['generated_at']} by `python -m bench` in {results['duration_s'] / 60:.1f} min. "
        f"Every figure is the median of {settings['runs']} run(s) with (min–max); both sides of each ratio ran "
        "in the same invocation, each run in a fresh process (its own JVM and mini-cluster): interleaved, and for "
        "the typed / hand-written headline ratios also paired (both jobs at once). "
        "Every run's output was count-checked (the suite fails on a wrong count). "
        "Machine-readable: [benchmarks.json](benchmarks.json); chart: [benchmarks.png](benchmarks.png).",
        "",
        "![benchmarks](benchmarks.png)",
        "",
        "## Machine",
        "",
    ]
    load = results.get("load", {})
    out += _table(["", ""], [
        ["cores", str(m["cores"])], ["memory", f"{m['memory_gib']} GiB"], ["CPU", m["cpu_model"]],
        ["OS", m["os"]], ["Python", m["python"]], ["Java", m["java"]], ["Flink (apache-flink)", m["flink"]],
        ["pydantic / pydantic-core", f"{m['pydantic']} / {m['pydantic_core']}"],
        ["jsonschema-rs (evgen) / fastjsonschema (hand-written)", f"{m.get('jsonschema_rs')} / {m.get('fastjsonschema')}"],
        ["1-min load average: start → each section → end", " → ".join(
            [_fmt(load.get("before", {}).get("load1"), 1)]
            + [f"{name} {_fmt(v.get('load1'), 1)}" for name, v in (load.get("sections") or {}).items()]
            + [_fmt(load.get("after", {}).get("load1"), 1)])],
    ])
    loads = [v.get("load1") for v in [load.get("before", {}), *(load.get("sections") or {}).values(),
                                       load.get("after", {})] if v.get("load1") is not None]
    if loads and max(loads) > 1.5 * m["cores"]:  # the suite alone keeps a 2-core machine near 2
        out += ["The machine is shared: other processes ran during the measurements (see the load average), so "
                "absolute figures carry noise; ratios less so, those of paired runs least.", ""]
    else:
        out += ["Nothing else ran on the machine (the load average above is the suite's own jobs).", ""]

    out += ["## Headline figures", ""]
    rows = []
    for name, target in results["targets"].items():
        met = target["met"]
        value = target["value"]
        shown = _fmt(value, 3) if isinstance(value, float) and value < 10 else _fmt(value, 1)
        rows.append([name, shown, "—" if met is None else ("yes" if met else "**no**")])
    out += _table(["target", "measured (median)", "met"], rows)
    if results["default_data_path"]:
        out += [f"Default recommended by the data-path measurement: data path **{results['default_data_path']}**, "
                f"execution mode **{results['default_execution_mode']}** (runtime defaults today: "
                f"{results['runtime_defaults']['data_path']} + {results['runtime_defaults']['execution_mode']}).", ""]
    if results.get("typed_vs_handwritten_ratio_kafka") is None:
        out += [f"Kafka → Kafka ratio not measured: {results.get('typed_vs_handwritten_ratio_kafka_reason')}.", ""]

    out += _limits(s, m["cores"])

    typed = s.get("typed_vs_handwritten") or {}
    for transport in ("file", "kafka"):
        run = typed.get(transport)
        if not run or not run.get("jobs"):
            continue
        title = "file → file" if transport == "file" else "Kafka → Kafka (real broker)"
        out += [f"## 1. Cost of types, {title}", "",
                f"{run['events']:,} page_change events (≈1.7 KB), parallelism 1, {run['execution_mode']} mode, "
                "JSON data path. Steady state: output growth between 10 % and 90 % of the final output; "
                "start-up and tear-down shown separately.", ""]
        header = ["job", "what", "events/s", "start-up + tear-down s"]
        split = transport == "file"
        if split:
            header += ["Python µs/event (in-process)", "Flink + runtime µs/event"]
        rows = []
        for name, job in run["jobs"].items():
            row = [f"`{name}`", job["label"], _mmm(job["events_per_s"]), _mmm(job["startup_and_teardown_s"], 1)]
            if split:
                row += [_fmt(job["python_us_per_event_in_process"]["median"], 1),
                        _fmt(job["flink_and_runtime_us_per_event"], 1)]
            rows.append(row)
        out += _table(header, rows)
        if split:
            out += ["Python µs/event: the job's per-event code alone, in this process, over the first "
                    f"{run['in_process_events']:,} events; Flink + runtime: 1 / (events/s) minus that.", ""]
            out += [f"In-process only, `{name}` ({only['label']}): "
                    f"{_fmt(only['python_us_per_event_in_process']['median'], 1)} Python µs/event."
                    for name, only in (run.get("in_process_only") or {}).items()] + [""]
        out += _paired(run)
        out += [f"- typed / hand-written (same work), paired: **{_mmm(run['ratio'], 3)}**; interleaved: "
                f"{_mmm(run.get('ratio_interleaved'), 3)}",
                f"- typed / hand-written minimal: {_mmm(run.get('ratio_vs_minimal'), 3)}"]
        if run.get("ratio_template"):
            out += [f"- typed with the template's carry-over / hand-written: {_mmm(run['ratio_template'], 3)}"]
        if run.get("ratio_operator"):
            out += [f"- typed / its chain in a plain ProcessFunction (what evgen's operator costs): "
                    f"{_mmm(run['ratio_operator'], 3)}",
                    f"- that plain chain / hand-written (the typed per-event work inside Flink): "
                    f"{_mmm(run['ratio_bare'], 3)}"]
        out += [""]

    datapath = s.get("data_path")
    if datapath:
        out += ["## 2. Data path × execution mode", "",
                f"The typed pass-through job, {datapath['events']:,} events, file → file.", ""]
        rows = [[c["data_path"], c["execution_mode"], _mmm(c.get("events_per_s")),
                 _mmm(c.get("startup_and_teardown_s"), 1),
                 "yes" if c["correct"] else f"**no** — the job failed: {_oneline(c.get('failure', ''))}"]
                for c in datapath["combinations"].values()]
        out += _table(["data path", "execution mode", "events/s", "start-up + tear-down s", "ran correctly"], rows)
        fastest = datapath.get("fastest")
        out += [f"Fastest correct: **{fastest['data_path']} / {fastest['execution_mode']}**." if fastest
                else "No combination ran correctly.", ""]

    enrich = s.get("enrichment")
    if enrich:
        sync = enrich["sync_baseline"]
        out += ["## 3. Enrichment concurrency", "",
                f"HTTP process function against the fake Action API on 127.0.0.1 answering "
                f"{enrich['latency_ms']:.0f} ms after each request came in (it builds its answer while it waits); "
                f"batch_size = {enrich['batch_size_per_worker']} × max_workers. The "
                "fake server (aiohttp's server on one event loop) runs in the suite's process, on the same 2 cores "
                "as the job.", "",
                f"Synchronous per-event baseline (`sync=True`): {_mmm(sync['events_per_s'], 2)} events/s "
                f"({_mmm(sync['fraction_of_bound'], 3)} of its bound {sync['bound_events_per_s']:.0f}/s).", ""]
        for title, key, cpu_key, alone in (
            ("`def process(event, session: requests.Session)` with `ActionApi` (max_workers threads)", "levels",
             "client_cpu_us_per_request", "from max_workers threads"),
            ("`async def process(event, session: aiohttp.ClientSession)` with `AsyncActionApi` (each event's "
             "chain runs on the session's event loop, max_workers at a time)", "async_levels",
             "async_client_cpu_us_per_request", "on one event loop, max_workers at a time"),
        ):
            if not enrich.get(key):
                continue
            rows = [[str(v["max_workers"]), str(v["batch_size"]), f"{v['events']:,}", _fmt(v["bound_events_per_s"], 0),
                     _mmm(v["events_per_s"]), _mmm(v["fraction_of_bound"], 3), _fmt(v["speedup_vs_sync"], 1),
                     str(v["max_in_flight_at_server"]), _mmm(v.get("job_cpu_cores"), 2),
                     _mmm(v["client_alone_fraction_of_bound"], 3)]
                    for v in enrich[key].values()]
            out += [f"{title}:", ""]
            out += _table(["max_workers", "batch_size", "events", "bound events/s", "events/s", "fraction of bound",
                           "× sync", "max in flight at server", "job CPU, cores",
                           "HTTP client alone: fraction of bound"], rows)
            out += [f"HTTP client alone: the same requests {alone} in a process of their own, no Flink, no event "
                    f"processing — the client's ceiling on this machine (CPU per request, over all levels: "
                    f"{_mmm(enrich.get(cpu_key))} µs; only the requests are timed, after imports and the session "
                    "are set up; one Python worker holds one GIL, so about 1 / that is the most requests/s it can "
                    "issue).", ""]

    latency = s.get("latency")
    if latency:
        out += ["## 4. Latency at a low rate", "",
                f"{latency['rate_events_per_s']:.0f} events/s, {latency['events_per_run']} events per run, source: "
                f"{latency['source']}; sink timestamp taken just before the file sink. The process step "
                f"{latency['process']}, batch_size {latency['batch_size']}, batch_duration_ms "
                f"{latency['batch_duration_ms']}: at this rate a batch never fills, so each event waits for its "
                "batch's timer (a function without I/O left to the default runs inline, with no batch to wait for).", ""]
        out += _table(["p50 ms", "p99 ms", "max ms", "target p99 ms"],
                      [[_mmm(latency["p50_ms"]), _mmm(latency["p99_ms"]), _mmm(latency["max_ms"]),
                        str(latency["target_p99_ms"])]])

    memory = s.get("memory")
    if memory:
        out += ["## 5. Memory", "",
                f"{memory['events']:,} events ({memory['input']}), {memory['execution_mode']} mode; RSS of the "
                f"worker's process tree sampled every {memory['sample_interval_s']} s. Growth = median of the last "
                "quarter / median of the first quarter, after a warm-up of 20 % of the output phase.", ""]
        rows = [["total", _mmm(memory["growth_ratio"], 3), _mmm(memory["peak_rss_mib"])],
                ["JVM", _mmm(memory["growth_ratio_by_process"].get("jvm"), 3), _mmm(memory["peak_jvm_rss_mib"])],
                ["Python workers", _mmm(memory["growth_ratio_by_process"].get("python_workers"), 3),
                 _mmm(memory["peak_python_workers_rss_mib"])]]
        out += _table(["process", "growth ratio", "peak RSS MiB"], rows)
        out += ["In thread mode the Python interpreter runs inside the JVM process, so its memory is in the JVM row.", ""]

    codegen = s.get("codegen")
    if codegen:
        out += ["## 6. Code generation", "",
                f"`evgen new-job` and `evgen regen` as subprocesses ({codegen['source']} → {codegen['sink']}, local "
                "schema repository), interpreter start-up included.", ""]
        out += _table(["command", "seconds", "target"],
                      [["evgen new-job", _mmm(codegen["new_job_s"], 2), f"< {codegen['target_new_job_s']:.0f} s"],
                       ["evgen regen", _mmm(codegen["regen_s"], 2), f"< {codegen['target_regen_s']:.0f} s"]])

    cluster = s.get("cluster_scaling")
    if cluster and cluster.get("ratio") is not None:
        out += ["## 7. Scale out on a session cluster", "",
                f"{cluster['events']:,} events file → file, submitted with `evgen run --target remote` to a "
                f"standalone session cluster ({cluster['cluster']}) on this {cluster['cores']}-core machine, "
                f"{cluster['execution_mode']} mode.", ""]
        out += _table(["parallelism", "events/s"],
                      [[p, _mmm(v["events_per_s"])] for p, v in cluster["parallelism"].items()])
        out += ["", f"Parallelism 2 / 1: {_mmm(cluster['ratio'], 3)}", ""]
    elif cluster:
        out += ["## 7. Scale out on a session cluster", "", f"Not measured: {cluster.get('reason')}", ""]

    skipped = results.get("skipped_sections") or {}
    if skipped:
        out += ["## Not measured in this run", ""] + [f"- {k}: {v}" for k, v in skipped.items()] + [""]
    out += ["## Reproduce", "", "```", "python -m bench            # full run, writes docs/benchmarks.*",
            "python -m bench --smoke --out /tmp/bench-smoke   # tiny, for CI", "```", ""]
    return "\n".join(out)


def _paired(run: dict[str, Any]) -> list[str]:
    """The paired runs of a cost-of-types section: how they ran, their rates."""
    paired = run.get("paired")
    if not paired:
        return []
    numerator, denominator = paired["jobs"]
    rates = paired["events_per_s"]
    window = (f"over the common steady window of each pair ({_mmm(paired['common_window_s'], 1)} s): from the later "
              "job reaching 10 % of its output to the earlier one reaching 90 %. Both saw the same host while "
              "measured, so the drift between runs a minute apart (±15 % on a shared VM) leaves their ratio alone"
              if paired["common_window"] else
              "each over its own steady state: the runs were too short to share a steady window")
    shares = _share_of_alone(run)

    def rate(name: str) -> str:
        share = f", {_fmt(shares[name] * 100)} % of its rate alone" if name in shares else ""
        return f"`{name}` {_mmm(rates[name])} events/s{share}"

    return [f"Paired: `{numerator}` and `{denominator}` started together, each in its own process, once per round, and "
            f"rated {window}. Rates while paired: {rate(numerator)}; {rate(denominator)}.", ""]


def _us(job: dict[str, Any]) -> str:
    return _fmt(job["python_us_per_event_in_process"]["median"], 1)


def _share_of_alone(run: dict[str, Any]) -> dict[str, float]:
    """Each paired job's rate while paired / its rate alone (medians); empty without a common window."""
    paired = run.get("paired") or {}
    if not paired.get("common_window"):
        return {}
    return {name: paired["events_per_s"][name]["median"] / run["jobs"][name]["events_per_s"]["median"]
            for name in paired["jobs"]}


def _limits(s: dict[str, Any], machine_cores: int) -> list[str]:
    """What bounds the figures that miss their targets, from this run's own measurements."""
    lines: list[str] = []
    file_run = (s.get("typed_vs_handwritten") or {}).get("file") or {}
    jobs = file_run.get("jobs") or {}
    typed, hand, minimal = jobs.get("typed"), jobs.get("handwritten"), jobs.get("handwritten_minimal")
    if typed and hand and minimal:
        lines.append(
            f"- **Throughput (20k events/s).** Only the hand-written job that validates nothing comes near it "
            f"({_fmt(minimal['events_per_s']['median'])} events/s). Validating input and output against the schemas "
            f"is most of the per-event Python work: {_us(typed)} µs typed (pydantic-core in, jsonschema-rs out), "
            f"{_us(hand)} µs hand-written (fastjsonschema in and out), {_us(minimal)} µs without validation; Flink's "
            f"own per-record cost in thread mode comes on top.")
    kafka = (s.get("typed_vs_handwritten") or {}).get("kafka") or {}
    if kafka.get("jobs"):
        text = ("- **Kafka ratio.** The typed job writes what an Event Platform producer must: the message key "
                "(`message_key_fields`) and the event time as record timestamp, through the Table API Kafka sink "
                "(records cross from Python as UTF-8 bytes; chained operators share records without copies); the "
                "hand-written one writes bare values through the DataStream KafkaSink.")
        shares = _share_of_alone(kafka)
        if shares and max(shares.values()) < 0.8:
            text += (f" Paired, the two jobs and the broker share {machine_cores} cores and each job ran at "
                     f"{_fmt(min(shares.values()) * 100)}–{_fmt(max(shares.values()) * 100)} % of its rate alone, so "
                     "the paired ratio weighs CPU per event, where that extra work counts in full; alone, a job has "
                     "a spare core for part of it (interleaved ratio "
                     f"{_fmt((kafka.get('ratio_interleaved') or {}).get('median'), 3)}).")
        lines.append(text)
    enrich = s.get("enrichment") or {}
    for name, key, cpu_key in (("requests", "levels", "client_cpu_us_per_request"),
                               ("aiohttp", "async_levels", "async_client_cpu_us_per_request")):
        cpu_us = (enrich.get(cpu_key) or {}).get("median")
        at_64 = (enrich.get(key) or {}).get("64") or {}
        if not (cpu_us and at_64 and at_64["fraction_of_bound"]["median"] < 0.9):
            continue
        cores = (at_64.get("job_cpu_cores") or {}).get("median")
        alone = at_64["client_alone_fraction_of_bound"]["median"]
        text = (f"- **Enrichment at 64 workers, {name} session** ({_fmt(at_64['fraction_of_bound']['median'], 3)} "
                f"of the bound, {_fmt(at_64['bound_events_per_s'])} requests/s; the client alone reaches "
                f"{_fmt(alone, 3)}). ")
        if alone < 0.9:
            text += (f"The client alone spends ≈{_fmt(cpu_us)} µs of CPU per request here, so one Python interpreter "
                     f"(one GIL) issues at most ≈{_fmt(1e6 / cpu_us)} requests/s before any event work"
                     + (f"; the job's processes used {_fmt(cores, 2)} cores (one core is a saturated GIL)" if cores
                        else "")
                     + ". Less CPU per request (`async def` on aiohttp) or more Python workers lifts it.")
        else:
            text += (f"The job gets {_fmt(at_64['fraction_of_bound']['median'] / alone * 100)} % of what the client "
                     "alone does: it is short of CPU, not of concurrency.")
            if cores:
                rate = at_64["events_per_s"]["median"]
                cpu_s = cores / rate
                needed = cpu_s * 0.9 * at_64["bound_events_per_s"]
                text += (f" It spends ≈{_fmt(cpu_s * 1000, 2)} ms of CPU per enriched event ({_fmt(cores, 2)} cores at "
                         f"{_fmt(rate)} events/s), most of it in Python under one GIL: the client, decoding, "
                         "validating and encoding the event, and the operator. 0.9 of the bound would take "
                         f"≈{_fmt(needed, 2)} cores for the job alone, on 2 cores it shares with the fake server; "
                         "and as every event's Python work waits for the one GIL, each round of max_workers "
                         "answers is handled one after another, which adds latency to every request in it.")
        lines.append(text)
    return (["## What limits the targets that are not met", "", *lines, ""]) if lines else []


def readme_summary(results: dict[str, Any]) -> str:
    """The README's "latest full run" table: the headline answers of ``results``, with links.

    ``python -m bench`` (a full run into docs/) writes it into README.md between
    :data:`bench.report.README_START` and :data:`bench.report.README_END`.
    """
    s, m = results["sections"], results["machine"]
    file_run = s["typed_vs_handwritten"]["file"]
    jobs = file_run["jobs"]
    kafka = s["typed_vs_handwritten"].get("kafka") or {}
    kafka_text = (f"{_mmm(kafka['ratio'], 3)} Kafka → Kafka (one after the other: "
                  f"{_mmm(kafka.get('ratio_interleaved'), 3)}; the typed job also writes keys and timestamps)"
                  if kafka.get("ratio") else f"Kafka → Kafka not measured ({kafka.get('reason', 'skipped')})")
    enrich = s["enrichment"]
    levels = enrich["levels"]
    fractions = ", ".join(f"{_fmt(v['fraction_of_bound']['median'] * 100)} % at {k}" for k, v in levels.items())
    async_levels = enrich.get("async_levels") or {}
    async_fractions = ", ".join(f"{_fmt(v['fraction_of_bound']['median'] * 100)} % at {k}"
                                for k, v in async_levels.items())
    at_64 = levels.get("64") or {}
    cluster = s.get("cluster_scaling") or {}
    latency = s["latency"]
    rows = [
        ["What do types cost?",
         f"typed evgen / hand-written PyFlink doing the same work, run side by side: **{_mmm(file_run['ratio'], 3)}** "
         f"file → file (one after the other: {_mmm(file_run.get('ratio_interleaved'), 3)}), "
         f"{kafka_text}; per-event Python work in-process {_us(jobs['typed'])} µs typed vs {_us(jobs['handwritten'])} µs "
         "hand-written"],
        ["How fast?",
         f"{_fmt(results['typed_events_per_s_file'])} events/s file → file, steady state, on {m['cores']} cores "
         f"(the hand-written job that validates nothing: {_fmt(jobs['handwritten_minimal']['events_per_s']['median'])})"],
        [f"How fast can it enrich ({_fmt(enrich['latency_ms'])} ms API)?",
         f"of the Little's-law bound, `def` on a requests session: {fractions} workers"
         + (f" (≈{_fmt(enrich['client_cpu_us_per_request']['median'])} µs client CPU per request under one GIL)"
            if at_64 else "")
         + (f"; `async def` on an aiohttp session: {async_fractions} "
            f"(≈{_fmt(enrich['async_client_cpu_us_per_request']['median'])} µs per request)" if async_levels else "")],
        [f"Latency at {_fmt(latency['rate_events_per_s'])} events/s",
         f"p50 {_fmt(results['latency_p50_ms'])} ms, p99 {_fmt(results['latency_p99_ms'])} ms"],
        [f"Memory over {s['memory']['events']:,} events", f"growth {_fmt(results['rss_growth_ratio'], 3)} (1.0 = flat)"],
        ["Codegen", f"`evgen new-job` {_fmt(results['new_job_s'], 2)} s, `evgen regen` {_fmt(results['regen_s'], 2)} s"],
        ["Data path / execution mode",
         f"fastest correct: {results['default_data_path']} + {results['default_execution_mode']} mode"],
        ["Scale out", f"parallelism 2 / 1 on a local 2-TaskManager session cluster: {_mmm(cluster.get('ratio'), 3)}"],
    ]
    started = results["generated_at"][:10]
    lines = [f"Latest full run ({started}, [docs/benchmarks.md](docs/benchmarks.md), {m['cores']}-core machine; "
             "medians with min–max):", ""]
    return "\n".join(lines + _table(["question", "answer"], rows)).rstrip("\n") + "\n"
