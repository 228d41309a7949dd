/// The two ends of the paced scenario: senders that write each line when it falls due (nothing
/// batched at a normal rate), and members that take every delivery's latency, sorted by whether
/// its sender is on the member's own instance.
module Chat.Bench.Scenarios.PacedLoad

open System
open System.Diagnostics
open System.Text
open System.Threading
open System.Threading.Tasks
open Chat.Bench
open Chat.Bench.Report
open Chat.Bench.Scenarios.Common

/// Sends `<index> <seq> <ticks>` at `perSecond` from `start` until `deadline`, each line in its own
/// write stamped with the time of that write, sleeping until the next one falls due; lines that fell
/// due while it slept go out together. Returns how far behind the schedule it ever was, in ticks.
let sender
    (index: int)
    (client: LoadClient)
    (perSecond: float)
    (start: int64)
    (deadline: int64)
    (sent: int64 array)
    (ct: CancellationToken)
    =
    task {
        let text = StringBuilder()
        let ticksPerLine = float Stopwatch.Frequency / perSecond
        let dueAt (n: int64) = start + int64 (float n * ticksPerLine)
        let mutable seq = 0L
        let mutable lag = 0L
        let mutable now = Stopwatch.GetTimestamp()

        while now < deadline && not ct.IsCancellationRequested do
            if now >= dueAt seq then
                lag <- max lag (now - dueAt seq)
                text.Clear() |> ignore

                while now >= dueAt seq do
                    seq <- seq + 1L

                    text.Append(index).Append(' ').Append(seq).Append(' ').Append(now).Append('\n')
                    |> ignore

                do! client.SendBytesAsync(ReadOnlyMemory(Encoding.UTF8.GetBytes(text.ToString())), ct)
                Volatile.Write(&sent[index], seq)

            now <- Stopwatch.GetTimestamp()
            let wait = float (dueAt seq - now) * 1000.0 / float Stopwatch.Frequency

            if wait > 0.0 then
                do! Task.Delay(TimeSpan.FromMilliseconds(max 1.0 (floor wait)), ct)

            now <- Stopwatch.GetTimestamp()

        return lag
    }

/// One room member on `instance`: counts and order through `Receiver`, and the latency of every
/// line sent in the measured window, split by whether its sender (on `senderInstance[sender]`) is
/// on the same instance. `capacity` sizes the sample lists up front (growing them while measuring
/// copies).
type PacedMember(senderInstance: int array, instance: int, capacity: int) =
    let rx = Receiver(senderInstance.Length, -1, false)
    let same = Collections.Generic.List<int64>(capacity)
    let cross = Collections.Generic.List<int64>(capacity)
    let mutable from = Int64.MaxValue
    let mutable until = Int64.MinValue

    /// Latency samples only for lines sent at or after `start` and before `stop` (Stopwatch
    /// timestamps); set before the senders start.
    member _.Measure(start: int64, stop: int64) =
        from <- start
        until <- stop

    member _.Handle(line: ReadOnlySpan<byte>) =
        let now = Stopwatch.GetTimestamp()
        rx.Handle line

        match BenchMsg.tryParse line with
        | ValueSome m when
            m.Sender >= 0
            && m.Sender < senderInstance.Length
            && m.Ticks >= from
            && m.Ticks < until
            ->
            (if senderInstance[m.Sender] = instance then same else cross).Add(now - m.Ticks)
        | _ -> ()

    member this.Handler = LineHandler(fun line -> this.Handle line)
    member _.Receiver = rx
    member _.Same = same
    member _.Cross = cross

/// One kind of sample of every member, sorted.
let samplesOf (members: PacedMember array) (pick: PacedMember -> Collections.Generic.List<int64>) =
    let all = members |> Array.collect (fun m -> (pick m).ToArray())
    Array.sortInPlace all
    all

/// p50, p90, p99 and p99.9 of sorted samples, keyed `<prefix>p50_ms` and so on.
let latencyMetrics (prefix: string) (label: string) (sorted: int64 array) = [
    for p, key, shown in
        [
            0.5, "p50", "p50"
            0.9, "p90", "p90"
            0.99, "p99", "p99"
            0.999, "p999", "p99.9"
        ] do
        num $"{prefix}{key}_ms" $"latency {shown}{label}" "ms" 2 (quantile sorted p)
        |> lower
]
