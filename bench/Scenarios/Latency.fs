/// A fixed offered rate into one room spread over two instances, senders on instance 1: the time
/// from a sender's write to a receiver on instance 2 reading the line (one process, one Stopwatch).
module Chat.Bench.Scenarios.Latency

open System
open System.Diagnostics
open System.Threading
open System.Threading.Tasks
open Chat.Bench
open Chat.Bench.Report
open Chat.Bench.Scenarios.Common

let private room = "latency"

let private unmeasuredReadPause = TimeSpan.FromMilliseconds 10.0

let run (ctx: Context) : Task<ScenarioResult> =
    let s = ctx.Settings
    let n = min 2 s.Instances
    let members = s.LatencyMembers
    let senders = s.LatencySenders
    // Members 0 .. half-1 on instance 1 (the senders first), the rest on instance 2.
    let half = max senders (members / 2)
    let instanceOf i = if n = 1 || i < half then 0 else 1

    let measured i =
        i >= senders && (n = 1 || instanceOf i = 1)

    withServers ctx "lat" n loadBcryptCost None (fun servers pin ->
        task {
            let endpoints = servers |> List.map _.Endpoint |> Array.ofList
            let receivers = Array.init members (fun i -> Receiver(senders, -1, measured i))
            let clients: LoadClient array = Array.zeroCreate members
            let sent = Array.zeroCreate<int64> senders
            let made = ref 0

            let measuredIdx = [|
                for i in 0 .. members - 1 do
                    if measured i then
                        i
            |]

            let received () =
                measuredIdx |> Array.sumBy (fun i -> receivers[i].Received)

            use progress = new Progress(tagged ctx "latency")

            try
                progress.Phase("connect", fun () -> $"connections {made.Value}/{members}")

                let join i ct =
                    joinAs endpoints[instanceOf i] pin 16384 $"lat{i}" (Some room) ct

                do! connectMany clients 16 made join ctx.Cancel
                // Members whose latency is not measured read every 10 ms, in batches: they must
                // keep up, not compete with the measured ones for the two cores.
                let pumps =
                    Array.init members (fun i ->
                        let between = if measured i then TimeSpan.Zero else unmeasuredReadPause
                        clients[i].PumpAsync(receivers[i].Handler, between))

                let cpu = CpuMeter.For(ctx, servers)
                // The benchmark's own collections would pause the receivers and show up as
                // latency: none while measuring, as long as its allocations fit in the region.
                let noGc = Window.startNoGc ()

                let gcs0, paused0 = GC.CollectionCount 0, GC.GetTotalPauseDuration()
                let t0 = Stopwatch.GetTimestamp() + Stopwatch.Frequency / 10L
                // The same traffic, unmeasured, until the servers' JIT has settled.
                let warm = t0 + ticksOf s.LatencyWarmup

                for r in receivers do
                    r.MeasureFrom <- warm

                let deadline = warm + ticksOf s.LatencyDuration

                let perSender = float s.Rate / float senders

                progress.Phase(
                    "send",
                    fun () ->
                        $"offered {s.Rate}/s, sent {Array.sum sent:N0}, received on measured members {received ():N0}"
                )

                let start i =
                    t0 + int64 (float i * float Stopwatch.Frequency / float s.Rate)

                let! lags =
                    Task.WhenAll(
                        [|
                            for i in 0 .. senders - 1 ->
                                PacedLoad.sender i clients[i] perSender (start i) deadline sent ctx.Cancel
                        |]
                    )

                let tSent = Stopwatch.GetTimestamp()
                let total = Array.sum sent
                let expected = total * int64 measuredIdx.Length
                do! drain progress "received" received expected pumps ctx.Cancel

                let cpuUse = cpu.Stop()
                let gcs, paused = GC.CollectionCount 0 - gcs0, GC.GetTotalPauseDuration() - paused0

                Window.endNoGc noGc

                let samples =
                    measuredIdx |> Array.collect (fun i -> receivers[i].Latencies.ToArray())

                Array.sortInPlace samples
                ctx.Curves.Add("latency", ctx.Build.Label, samples)
                let q = quantile samples

                let lost =
                    measuredIdx |> Array.sumBy (fun i -> max 0L (total - receivers[i].Received))

                let violations = receivers |> Array.sumBy _.Violations
                let dropped = pumps |> Array.filter _.IsCompleted |> Array.length

                let mean =
                    if samples.Length = 0 then
                        nan
                    else
                        Array.averageBy float samples * 1000.0 / float Stopwatch.Frequency

                return {
                    Name = "latency"
                    Metrics = [
                        count "instances" "instances" "" (int64 n)
                        count "members" "room members" "" (int64 members)
                        count "senders" "senders (instance 1)" "" (int64 senders)
                        count "measured_receivers" "measured receivers" "" (int64 measuredIdx.Length)
                        count "offered_per_s" "offered rate" "msg/s" (int64 s.Rate)
                        num "sent_per_s" "achieved send rate" "msg/s" 0 (float total / seconds (tSent - t0))
                        count
                            "samples"
                            $"latency samples (after {s.LatencyWarmup.TotalSeconds:N0} s warm-up)"
                            ""
                            samples.LongLength
                        num "p50_ms" "latency p50" "ms" 2 (q 0.5) |> lower
                        num "p90_ms" "latency p90" "ms" 2 (q 0.9) |> lower
                        num "p99_ms" "latency p99" "ms" 2 (q 0.99) |> lower
                        num "p999_ms" "latency p99.9" "ms" 2 (q 0.999) |> lower
                        num "max_ms" "latency max" "ms" 2 (q 1.0) |> lower
                        num "mean_ms" "latency mean" "ms" 2 mean |> lower
                        num "sender_lag_max_ms" "senders behind schedule (max)" "ms" 1 (lags |> Array.max |> ms)
                        count "lost" "lost deliveries (measured)" "msgs" lost |> lower
                        count "order_violations" "order violations" "" violations |> lower
                        count "dropped_connections" "connections dropped" "" (int64 dropped) |> lower
                        count "bench_gcs" "collections in the benchmark" "" (int64 gcs)
                        num "bench_gc_pause_ms" "benchmark paused by them" "ms" 1 paused.TotalMilliseconds
                        yield! cpuUse.Metrics
                    ]
                    Notes = [
                        if n = 1 then
                            "single instance: latency measured on every member that does not send"
                        else
                            "latency measured on the instance-2 members only; messages cross instances through redis"
                        "members on instance 1 (senders included) are not measured and read every 10 ms, in batches"
                        "a message is stamped when its sender writes it (Stopwatch ticks) and measured when a receiver has parsed it; senders wake every ~1 ms, so lines falling due meanwhile go out together"
                    ]
                    Violations = violations
                    Error = None
                }
            finally
                disposeAll clients
        })
