namespace Chat.Server

open System
open System.Collections.Generic
open System.Threading
open System.Threading.Tasks
open StackExchange.Redis
open RedisCalls

/// The receiving end of `chat:bus`, made reliable. Pub/Sub drops what is sent while a
/// subscription is down (Redis restarting, `CLIENT KILL TYPE pubsub`, a slow reconnect), so every
/// event carries a number (`<epoch> <seq> <line>`, see RedisScripts.busPublish) and is also kept
/// in `chat:bus:log`. Events are handed on in number order, each once; a gap in the numbers is
/// read back from the log before anything after it is handed on. Quiet gaps (nothing arrives
/// after them) are found by comparing with `chat:bus:seq`: on every reconnect of the
/// subscription, and when a number seen two checks ago has still not arrived.
/// All of it runs on the library's threads, so it never waits: Redis is read asynchronously.
type internal RedisBus(muxer: ConnectionMultiplexer, deliver: string -> unit, warn: string -> unit) =
    let gate = obj ()
    let mutable epoch = ""
    let mutable last = 0L
    // While the log is being read, arrivals wait here.
    let mutable repairing = false
    let held = List<struct (string * int64 * string)>()
    let mutable suspect = 0L
    let mutable disposed = false

    /// Under the lock: hand on the next event, unless it was handed on already.
    let accept (s: int64) (line: string) =
        if s > last then
            if s > last + 1L then
                warn (sprintf "bus events %d to %d are gone from the log; they are lost" (last + 1L) (s - 1L))

            last <- s
            deliver line

    /// `<epoch> <seq> <line>`; the epoch is only copied when it is not the current one (read
    /// without the lock: a stale value costs a copy, never a wrong answer).
    let parse (payload: string) =
        let a = if isNull payload then -1 else payload.IndexOf ' '
        let b = if a < 0 then -1 else payload.IndexOf(' ', a + 1)

        if b < 0 then
            ValueNone
        else
            match Int64.TryParse(payload.AsSpan(a + 1, b - a - 1)) with
            | true, n ->
                let e =
                    if payload.AsSpan(0, a).SequenceEqual(epoch.AsSpan()) then
                        epoch
                    else
                        payload.Substring(0, a)

                ValueSome(struct (e, n, payload.Substring(b + 1)))
            | _ -> ValueNone

    let rec repair () : Task =
        task {
            let from = lock gate (fun () -> last + 1L)
            let mutable ok = false

            try
                let! entries = evalAsync muxer RedisScripts.busLog [ string from ]
                ok <- true

                lock gate (fun () ->
                    for entry in results entries do
                        match results entry with
                        | [| id; fields |] ->
                            let id = string id

                            match Int64.TryParse(id.Substring(0, max 0 (id.IndexOf '-'))), strings fields with
                            | (true, s), [| "e"; line |] -> accept s line
                            | _ -> warn (sprintf "malformed bus log entry %s" id)
                        | _ -> ()

                    for struct (e, s, line) in held do
                        if e = epoch then
                            accept s line

                    held.Clear()
                    repairing <- false)
            with e ->
                warn (sprintf "cannot read the bus log yet (%s); retrying" e.Message)

            if not ok && not disposed then
                do! Task.Delay 1000
                return! repair ()
        }

    /// Under the lock: a gap before `s` (or a quiet one) was found.
    let startRepair () =
        if not repairing then
            repairing <- true
            repair () |> ignore

    /// Compares with where the bus stands in Redis; `eager` repairs any shortfall at once,
    /// otherwise only events that were due at the previous check.
    let check (eager: bool) =
        task {
            try
                let! position = evalAsync muxer RedisScripts.busPosition []

                match strings position with
                | [| e; s |] when not (isNull e) ->
                    let seq = Int64.Parse s

                    lock gate (fun () ->
                        if e <> epoch then
                            // Redis lost its data: a new epoch, numbered from 1.
                            epoch <- e
                            last <- 0L
                            held.Clear()

                        if seq > last && (eager || suspect > last) then
                            startRepair ()

                        suspect <- seq)
                | _ -> ()
            with e ->
                warn (sprintf "cannot read the bus position (%s)" e.Message)
        }
        :> Task

    let timer =
        new Timer(
            (fun _ ->
                if muxer.IsConnected then
                    check false |> ignore),
            null,
            2000,
            2000
        )

    let onRestored =
        EventHandler<ConnectionFailedEventArgs>(fun _ e ->
            if e.ConnectionType = ConnectionType.Subscription then
                warn "bus link back; catching up from the bus log"
                check true |> ignore)

    let onFailed =
        EventHandler<ConnectionFailedEventArgs>(fun _ e ->
            if e.ConnectionType = ConnectionType.Subscription then
                warn "bus link lost; what is sent meanwhile will be read back from the bus log")

    do
        muxer.ConnectionRestored.AddHandler onRestored
        muxer.ConnectionFailed.AddHandler onFailed

    /// Starts from where the bus stands now: what came before is history.
    member _.Start() =
        match strings (eval muxer RedisScripts.busPosition [] []) with
        | [| e; s |] when not (isNull e) ->
            lock gate (fun () ->
                epoch <- e
                last <- Int64.Parse s)
        | _ -> ()

    /// A message from the subscription, in arrival order.
    member _.Receive(payload: string) =
        match parse payload with
        | ValueSome(struct (e, s, line)) ->
            lock gate (fun () ->
                if repairing then
                    held.Add(struct (e, s, line))
                elif e <> epoch then
                    // A new epoch (Redis lost its data): start over from its first event.
                    epoch <- e
                    last <- 0L

                    if s = 1L then
                        accept s line
                    else
                        held.Add(struct (e, s, line))
                        startRepair ()
                elif s = last + 1L then
                    accept s line
                elif s > last + 1L then
                    held.Add(struct (e, s, line))
                    startRepair ())
        | ValueNone -> warn (sprintf "dropped a malformed bus message: %s" payload)

    interface IDisposable with
        member _.Dispose() =
            disposed <- true
            timer.Dispose()
            muxer.ConnectionRestored.RemoveHandler onRestored
            muxer.ConnectionFailed.RemoveHandler onFailed
