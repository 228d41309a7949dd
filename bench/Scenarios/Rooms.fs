/// Many rooms at once, for the scale scenarios: each room's members spread over the instances a
/// layout names, its first members sending a fixed count of `<sender> <seq>` lines each, every
/// member checking each sender's order and counting what it got.
module Chat.Bench.Scenarios.Rooms

open System
open System.Net
open System.Text
open System.Threading
open System.Threading.Tasks
open Chat.Bench
open Chat.Bench.Scenarios.Common

type Layout = {
    /// The rooms' names; each also prefixes its members' user names.
    Rooms: string array
    /// Per room, the instances (indexes into the endpoints) its members are spread over, in turn.
    Homes: int array array
    /// Members per room; the first `Senders` of them also send.
    Members: int
    Senders: int
    /// Lines each sender sends.
    Messages: int
}

/// What the members got, once every line arrived (or nothing arrived for 5 s).
type Traffic = {
    Sent: int64
    Delivered: int64
    Expected: int64
    Lost: int64
    Violations: int64
    Errors: int64
    FirstError: string option
    Dropped: int
    SendSeconds: float
}

/// Lines a sender may have in flight before its own copy comes back.
let private window = 100L
let private batchLines = 32L

/// Sends `<index> <1..count>`, at most `window` ahead of its own copies; `sent[slot]` is the count.
let private sendCounted
    (index: int)
    (client: LoadClient)
    (rx: Receiver)
    (count: int64)
    (sent: int64 array)
    (slot: int)
    (ct: CancellationToken)
    =
    task {
        let text = StringBuilder()
        let mutable seq = 0L

        while seq < count && not ct.IsCancellationRequested do
            let free = window - (seq - rx.Last index)

            if free <= 0L then
                let! _ = rx.Echo.WaitAsync 5
                ()
            else
                text.Clear() |> ignore

                for _ in 1L .. min free (min batchLines (count - seq)) do
                    seq <- seq + 1L
                    text.Append(index).Append(' ').Append(seq).Append('\n') |> ignore

                do! client.SendBytesAsync(ReadOnlyMemory(Encoding.UTF8.GetBytes(text.ToString())), ct)
                Volatile.Write(&sent[slot], seq)
    }

/// The members of every room of a layout, connected and joined; `Send` runs the traffic.
type RoomLoad(layout: Layout, endpoints: IPEndPoint array, pin: Pin, progress: Progress) =
    let rooms = layout.Rooms.Length
    let total = rooms * layout.Members
    let roomOf i = i / layout.Members
    let memberOf i = i % layout.Members

    let receivers =
        Array.init total (fun i ->
            let m = memberOf i
            Receiver(layout.Senders, (if m < layout.Senders then m else -1), false))

    let clients: LoadClient array = Array.zeroCreate total
    let sent = Array.zeroCreate<int64>(rooms * layout.Senders)
    let mutable pumps: Task array = [||]

    let delivered () = receivers |> Array.sumBy _.Received

    /// The instance member `i` of the flat list is on.
    let homeOf i =
        let homes = layout.Homes[roomOf i]
        homes[memberOf i % homes.Length]

    member _.ConnectAsync(ct: CancellationToken) : Task =
        task {
            let made = ref 0
            progress.Phase("connect", fun () -> $"connections {made.Value}/{total}")

            let join i ct =
                let room = layout.Rooms[roomOf i]
                joinAs endpoints[homeOf i] pin 65536 $"{room}m{memberOf i}" (Some room) ct

            do! connectMany clients 16 made join ct
            pumps <- Array.init total (fun i -> clients[i].PumpAsync receivers[i].Handler)
        }

    /// Every sender sends its lines; waits until every member got every line of its room.
    member _.SendAsync(ct: CancellationToken) : Task<Traffic> =
        task {
            let perMember = int64 layout.Senders * int64 layout.Messages
            let expected = perMember * int64 total

            progress.Phase(
                "send",
                fun () -> $"rooms {rooms}, sent {Array.sum sent:N0}, delivered {delivered ():N0}/{expected:N0}"
            )

            let t0 = Diagnostics.Stopwatch.GetTimestamp()

            let! _ =
                Task.WhenAll(
                    [|
                        for r in 0 .. rooms - 1 do
                            for k in 0 .. layout.Senders - 1 ->
                                let i = r * layout.Members + k

                                sendCounted
                                    k
                                    clients[i]
                                    receivers[i]
                                    (int64 layout.Messages)
                                    sent
                                    (r * layout.Senders + k)
                                    ct
                    |]
                )

            let sendSeconds = seconds (Diagnostics.Stopwatch.GetTimestamp() - t0)
            do! drain progress "delivered" delivered expected pumps ct

            return {
                Sent = Array.sum sent
                Delivered = delivered ()
                Expected = expected
                Lost = receivers |> Array.sumBy (fun r -> max 0L (perMember - r.Received))
                Violations = receivers |> Array.sumBy _.Violations
                Errors = receivers |> Array.sumBy _.Errors
                FirstError =
                    receivers
                    |> Array.tryPick (fun r -> if r.FirstError = "" then None else Some r.FirstError)
                Dropped = pumps |> Array.filter _.IsCompleted |> Array.length
                SendSeconds = sendSeconds
            }
        }

    interface IDisposable with
        member _.Dispose() = disposeAll clients

/// The figures of `Traffic` every scale scenario reports.
let trafficMetrics (t: Traffic) : Report.Metric list = [
    Report.count "sent" "messages sent" "msgs" t.Sent
    Report.num "send_seconds" "send time" "s" 1 t.SendSeconds
    Report.count "delivered" "deliveries" "msgs" t.Delivered
    Report.count "expected" "deliveries expected" "msgs" t.Expected
    Report.count "lost" "lost deliveries" "msgs" t.Lost |> Report.lower
    Report.count "order_violations" "order violations" "" t.Violations
    |> Report.lower
    Report.count "dropped_connections" "connections dropped" "" (int64 t.Dropped)
    |> Report.lower
    Report.count "error_lines" "ERR lines received" "" t.Errors |> Report.lower
]
