/// One room, M members over the instances, K of them sending as fast as the servers take it:
/// deliveries per second over all members, each sender's order checked on every member.
module Chat.Bench.Scenarios.FanOut

open System
open System.Diagnostics
open System.Text
open System.Threading
open System.Threading.Tasks
open Chat.Bench
open Chat.Bench.Report
open Chat.Bench.Scenarios.Common
open Chat.Bench.Scenarios.Window

let private room = "fanout"
let private batchLines = 64

/// Sends `<index> <seq>` lines in batches until `deadline`, keeping at most `window` lines ahead of
/// its own copies coming back (so that the servers' queues stay bounded); `sent[index]` is the count.
let private sender
    (index: int)
    (client: LoadClient)
    (rx: Receiver)
    (window: int)
    (deadline: int64)
    (sent: int64 array)
    (ct: CancellationToken)
    =
    task {
        let text = StringBuilder()
        let mutable seq = 0L

        while Stopwatch.GetTimestamp() < deadline && not ct.IsCancellationRequested do
            let free = int64 window - (seq - rx.Last index)

            if free <= 0L then
                let! _ = rx.Echo.WaitAsync(5)
                ()
            else
                text.Clear() |> ignore

                for _ in 1 .. int (min free (int64 batchLines)) do
                    seq <- seq + 1L
                    text.Append(index).Append(' ').Append(seq).Append('\n') |> ignore

                do! client.SendBytesAsync(ReadOnlyMemory(Encoding.UTF8.GetBytes(text.ToString())), ct)
                Volatile.Write(&sent[index], seq)
    }

let run (ctx: Context) : Task<ScenarioResult> =
    let s = ctx.Settings
    let n = s.Instances
    let members = s.Members
    let senders = s.Senders

    withServers ctx "fan" n loadBcryptCost (Some s.SendQueue) (fun servers pin ->
        task {
            let endpoints = servers |> List.map _.Endpoint |> Array.ofList

            let receivers =
                Array.init members (fun i -> Receiver(senders, (if i < senders then i else -1), false))

            let clients: LoadClient array = Array.zeroCreate members
            let sent = Array.zeroCreate<int64> senders
            let made = ref 0
            let delivered () = receivers |> Array.sumBy _.Received
            use progress = new Progress(tagged ctx "fanout")

            try
                progress.Phase("connect", fun () -> $"connections {made.Value}/{members}")

                let join i ct =
                    joinAs endpoints[i % n] pin 65536 $"fan{i}" (Some room) ct

                do! connectMany clients 16 made join ctx.Cancel
                let pumps = Array.init members (fun i -> clients[i].PumpAsync receivers[i].Handler)

                let t0 = Stopwatch.GetTimestamp()
                let warm = t0 + ticksOf s.FanOutWarmup
                let deadline = warm + ticksOf s.Duration

                progress.Phase(
                    "send",
                    fun () ->
                        $"{phase warm}, connections {members}, sent {Array.sum sent:N0}, delivered {delivered ():N0}"
                )

                let window =
                    measureWindow (fun () -> CpuMeter.For(ctx, servers)) delivered warm deadline ctx.Cancel

                let! _ =
                    Task.WhenAll(
                        [|
                            for i in 0 .. senders - 1 ->
                                sender i clients[i] receivers[i] s.Window deadline sent ctx.Cancel
                        |]
                    )

                let! window = window
                let cpuUse, inWindow, windowSeconds = window.Cpu, window.Deliveries, window.Seconds
                let tSent = Stopwatch.GetTimestamp()
                let total = Array.sum sent
                let expected = total * int64 members

                do! drain progress "delivered" delivered expected pumps ctx.Cancel

                let tDone = Stopwatch.GetTimestamp()

                let all = delivered ()
                let lost = receivers |> Array.sumBy (fun r -> max 0L (total - r.Received))
                let violations = receivers |> Array.sumBy _.Violations
                let dropped = pumps |> Array.filter _.IsCompleted |> Array.length
                let errors = receivers |> Array.sumBy _.Errors

                let firstError =
                    receivers
                    |> Array.tryPick (fun r -> if r.FirstError = "" then None else Some r.FirstError)

                return {
                    Name = "fanout"
                    Metrics = [
                        count "instances" "instances" "" (int64 n)
                        count "members" "room members" "" (int64 members)
                        count "senders" "senders (full speed, windowed)" "" (int64 senders)
                        num "send_seconds" "send time (warm-up and window)" "s" 1 (seconds (tSent - t0))
                        num "window_seconds" "measured send window" "s" 1 windowSeconds
                        count "sent" "messages sent" "msgs" total
                        num "sent_per_s" "messages sent / s" "msg/s" 0 (float total / seconds (tSent - t0))
                        |> higher
                        num "delivered_per_s" "deliveries / s (window)" "msg/s" 0 (float inWindow / windowSeconds)
                        |> higher
                        num
                            "delivered_per_s_overall"
                            "deliveries / s (whole run, incl. warm-up and drain)"
                            "msg/s"
                            0
                            (float all / seconds (tDone - t0))
                        |> higher
                        num "drain_seconds" "drain after sending stopped" "s" 2 (seconds (tDone - tSent))
                        |> lower
                        count "delivered" "deliveries" "msgs" all
                        count "expected" "deliveries expected" "msgs" expected
                        count "lost" "lost deliveries" "msgs" lost |> lower
                        count "order_violations" "order violations" "" violations |> lower
                        count "dropped_connections" "connections dropped" "" (int64 dropped) |> lower
                        count "error_lines" "ERR lines received" "" errors |> lower
                        num
                            "deliveries_per_server_cpu_s"
                            "deliveries per server-side CPU second (window)"
                            "msg"
                            0
                            (float inWindow / cpuUse.ServerSideSeconds)
                        |> higher
                        yield! cpuPerDelivery window
                        yield! cpuUse.Metrics
                    ]
                    Notes = [
                        $"each sender keeps at most {s.Window} lines in flight (until its own copy comes back); servers run with --send-queue {s.SendQueue}"
                        $"rates and CPU over the {s.Duration.TotalSeconds:N0} s window after {s.FanOutWarmup.TotalSeconds:N0} s of the same flood unmeasured (the servers start cold: JIT tiering and dynamic PGO); server CPU is the instances' alone"
                        match firstError with
                        | Some e -> $"first ERR line: {e}"
                        | None -> ()
                    ]
                    Violations = violations
                    Error = None
                }
            finally
                disposeAll clients
        })
