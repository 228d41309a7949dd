/// A normal rate into one room over two instances (issue 14's shape: 50 members, 10 senders at
/// 20 msg/s each): what each delivery costs the servers and Redis in CPU, measured only over the
/// send window, and its latency for receivers on the sender's instance and on the other one.
module Chat.Bench.Scenarios.Paced

open System
open System.Diagnostics
open System.Threading.Tasks
open Chat.Bench
open Chat.Bench.Report
open Chat.Bench.Scenarios.Common
open Chat.Bench.Scenarios.PacedLoad
open Chat.Bench.Scenarios.Window

/// Runs the scenario as `name` at `rate` messages per second over all senders.
let run (name: string) (rate: int) (ctx: Context) : Task<ScenarioResult> =
    let s = ctx.Settings
    let n = min 2 s.Instances
    let members, senders = s.PacedMembers, s.PacedSenders
    let instanceOf i = i % n
    let senderInstance = Array.init senders instanceOf
    // Each member's expected samples of one kind, with room to spare.
    let capacity = int (float rate * s.PacedDuration.TotalSeconds * 1.2) + 1024

    withServers ctx "paced" n loadBcryptCost None (fun servers pin ->
        task {
            let endpoints = servers |> List.map _.Endpoint |> Array.ofList

            let all =
                Array.init members (fun i -> PacedMember(senderInstance, instanceOf i, capacity))

            let clients: LoadClient array = Array.zeroCreate members
            let sent = Array.zeroCreate<int64> senders
            let made = ref 0
            let delivered () = all |> Array.sumBy _.Receiver.Received
            use progress = new Progress(tagged ctx name)

            try
                progress.Phase("connect", fun () -> $"connections {made.Value}/{members}")

                let join i ct =
                    joinAs endpoints[instanceOf i] pin 16384 $"paced{i}" (Some name) ct

                do! connectMany clients 16 made join ctx.Cancel
                let pumps = Array.init members (fun i -> clients[i].PumpAsync all[i].Handler)
                let t0 = Stopwatch.GetTimestamp() + Stopwatch.Frequency / 10L
                let warm = t0 + ticksOf s.PacedWarmup
                let deadline = warm + ticksOf s.PacedDuration

                for m in all do
                    m.Measure(warm, deadline)

                progress.Phase(
                    "send",
                    fun () -> $"{phase warm}, offered {rate}/s, sent {Array.sum sent:N0}, delivered {delivered ():N0}"
                )

                let window =
                    measureWindow (fun () -> CpuMeter.For(ctx, servers)) delivered warm deadline ctx.Cancel

                let perSender = float rate / float senders

                let start i =
                    t0 + int64 (float i * float Stopwatch.Frequency / float rate)

                let! lags =
                    Task.WhenAll(
                        [|
                            for i in 0 .. senders - 1 ->
                                sender i clients[i] perSender (start i) deadline sent ctx.Cancel
                        |]
                    )

                let! window = window
                let cpuUse, inWindow, windowSeconds = window.Cpu, window.Deliveries, window.Seconds
                let total = Array.sum sent
                do! drain progress "delivered" delivered (total * int64 members) pumps ctx.Cancel

                let same, cross = samplesOf all _.Same, samplesOf all _.Cross
                let both = Array.append same cross |> Array.sort
                ctx.Curves.Add($"{name}, same instance", ctx.Build.Label, same)
                ctx.Curves.Add($"{name}, cross instance", ctx.Build.Label, cross)
                let lost = all |> Array.sumBy (fun m -> max 0L (total - m.Receiver.Received))
                let violations = all |> Array.sumBy _.Receiver.Violations

                return {
                    Name = name
                    Metrics = [
                        count "instances" "instances" "" (int64 n)
                        count "members" "room members (alternating over the instances)" "" (int64 members)
                        count "senders" "senders" "" (int64 senders)
                        count "offered_per_s" "offered rate, all senders" "msg/s" (int64 rate)
                        num "window_seconds" "measured send window" "s" 1 windowSeconds
                        num "delivered_per_s" "deliveries / s (window)" "msg/s" 0 (float inWindow / windowSeconds)
                        yield! cpuPerDelivery window
                        yield! latencyMetrics "" " (all deliveries)" both
                        count "same_samples" "same-instance samples" "" same.LongLength
                        yield! latencyMetrics "same_" ", same instance" same
                        count "cross_samples" "cross-instance samples" "" cross.LongLength
                        yield! latencyMetrics "cross_" ", cross instance" cross
                        num "sender_lag_max_ms" "senders behind schedule (max)" "ms" 1 (lags |> Array.max |> ms)
                        count "lost" "lost deliveries" "msgs" lost |> lower
                        count "order_violations" "order violations" "" violations |> lower
                        count
                            "dropped_connections"
                            "connections dropped"
                            ""
                            (pumps |> Array.filter _.IsCompleted |> Array.length |> int64)
                        |> lower
                        yield! cpuUse.Metrics
                    ]
                    Notes = [
                        $"{senders} senders at {perSender:N0} msg/s each, every line its own write stamped when written; every member reads as lines arrive"
                        $"CPU and deliveries over the {s.PacedDuration.TotalSeconds:N0} s window after {s.PacedWarmup.TotalSeconds:N0} s of the same traffic unmeasured; server CPU is the instances' alone"
                        "same/cross instance: whether the sender is on the receiver's instance (a sender's own copy counts as same)"
                    ]
                    Violations = violations
                    Error = None
                }
            finally
                disposeAll clients
        })
