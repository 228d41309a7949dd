namespace Chat.Server

open System.Collections.Generic
open Chat.Domain

/// This instance's end of the streams: holds the pure `Routing` of local sessions and turns each
/// bus event's deliveries into queued lines. Each stream's events come in its order (RedisFeeds);
/// the lock orders events of different streams against each other and against attach/detach
/// from the client threads. Never blocks on I/O.
/// Each delivery counts once in `metrics`, with the number of sessions it reached; an event counts
/// as needed when any of its deliveries reached a session.
type LocalRouter(log: Log, metrics: ServerMetrics) =
    let gate = obj ()
    let mutable routing = Routing.empty
    let outboxes = Dictionary<SessionId, Outbox>()
    // The room each local session is in by its own account, to rebuild shared state after an outage.
    let intended = Dictionary<SessionId, RoomName>()
    // A newer login may take the name over before this instance attached the session it just
    // claimed (the control channel is quicker than the claiming thread): such kicks are remembered, a bounded few.
    let kickedEarly = HashSet<SessionId>()
    let kickedOrder = Queue<SessionId>()
    // The outboxes of a set of sessions, by the set itself: a room's member set is one object
    // until its membership changes, so a message finds its receivers without hashing each session
    // id. Emptied whenever a session attaches or goes, and when it holds too many old sets.
    let receivers = Dictionary<Set<SessionId>, Outbox array>(HashIdentity.Reference)

    let outboxesOf (sids: Set<SessionId>) =
        match receivers.TryGetValue sids with
        | true, boxes -> boxes
        | _ ->
            let found = ResizeArray<Outbox>()

            sids
            |> Set.iter (fun sid ->
                match outboxes.TryGetValue sid with
                | true, outbox -> found.Add outbox
                | _ -> ())

            let boxes = found.ToArray()

            // A single receiver (a welcome, a direct message) comes in a new set each time.
            if boxes.Length > 1 then
                if receivers.Count >= 256 then
                    receivers.Clear()

                receivers[sids] <- boxes

            boxes

    /// Whether any delivery but a login's welcome reached a local session.
    let deliver (deliveries: Delivery list) : bool =
        let mutable needed = false

        for delivery in deliveries do
            match delivery with
            | Deliver(sids, msg) ->
                let line = Wire.encode msg
                let boxes = outboxesOf sids

                for outbox in boxes do
                    outbox.Send line

                let reached = boxes.Length

                // A login's welcome rides with its entry but is a reply, not traffic.
                match msg with
                | Ok _ -> ()
                | _ ->
                    metrics.Delivered reached
                    needed <- needed || reached > 0
            | Disconnect(sid, msg) ->
                match outboxes.TryGetValue sid with
                | true, outbox ->
                    outboxes.Remove sid |> ignore
                    receivers.Clear()
                    intended.Remove sid |> ignore
                    outbox.SendLast(Wire.encode msg)
                    metrics.Delivered 1
                    needed <- true
                | _ -> ()

        needed

    let rememberKick sid =
        if kickedEarly.Add sid then
            kickedOrder.Enqueue sid

            if kickedOrder.Count > 4096 then
                kickedEarly.Remove(kickedOrder.Dequeue()) |> ignore

    /// Attaches a session that just claimed its name, to be told `welcome` when its own entry
    /// comes by on the lobby's stream (Routing.attachWelcomed); false when a newer login already took the
    /// name over (the caller then ends the session as a forced logout).
    member _.Attach(sid: SessionId, user: Username, outbox: Outbox, welcome: ServerMsg) : bool =
        lock gate (fun () ->
            if kickedEarly.Remove sid then
                false
            else
                routing <- Routing.attachWelcomed sid user welcome routing
                outboxes[sid] <- outbox
                receivers.Clear()
                intended[sid] <- RoomName.lobby
                true)

    /// Waits until the session's welcome went out with its entry, at most `timeout`; past it (the
    /// stream is away) sends the welcome itself, so a login never hangs on Redis. The client's
    /// next line is read only after this, so its replies follow the welcome.
    member _.AwaitWelcome(sid: SessionId, timeout: System.TimeSpan) =
        let until = System.DateTime.UtcNow + timeout

        lock gate (fun () ->
            let rec wait () =
                match Routing.pendingWelcome sid routing with
                | None -> ()
                | Some welcome ->
                    let left = until - System.DateTime.UtcNow

                    if left > System.TimeSpan.Zero then
                        System.Threading.Monitor.Wait(gate, left) |> ignore
                        wait ()
                    else
                        routing <- Routing.dropWelcome sid routing

                        match outboxes.TryGetValue sid with
                        | true, outbox -> outbox.Send welcome
                        | _ -> ()

            wait ())

    /// The session moved, by its own account (shared state agreed).
    member _.Intend(sid: SessionId, room: RoomName) =
        lock gate (fun () ->
            if intended.ContainsKey sid then
                intended[sid] <- room)

    member _.Detach(sid: SessionId) =
        lock gate (fun () ->
            routing <- Routing.detach sid routing
            outboxes.Remove sid |> ignore
            receivers.Clear()
            intended.Remove sid |> ignore)

    /// Sessions attached here, for metrics.
    member _.Count = lock gate (fun () -> outboxes.Count)

    /// Local sessions and their rooms, to rebuild shared state after Redis lost it.
    member _.Sessions() : (Username * SessionId * RoomName) list =
        lock gate (fun () -> [
            for sid, user in Routing.sessions routing do
                match intended.TryGetValue sid with
                | true, room -> user, sid, room
                | _ -> ()
        ])

    member _.Dispatch(event: BusEvent) =
        lock gate (fun () ->
            match event with
            | BusEvent.Kicked(_, sid) when not (Routing.isAttached sid routing) -> rememberKick sid
            | _ ->
                let next, deliveries = Routing.route event routing
                routing <- next

                if deliver deliveries then
                    metrics.BusNeeded()

                match event with
                | BusEvent.Entered _
                | BusEvent.Kicked _ -> System.Threading.Monitor.PulseAll gate
                | _ -> ())

        if log.Enabled LogLevel.Debug then
            log.Debug("event", [ "event", box (sprintf "%A" event) ])
