namespace Chat.Server

open System
open System.Collections.Generic
open Chat.Domain

/// This instance's end of the bus: holds the pure `Routing` of local sessions and turns each
/// bus event's deliveries into queued lines. Events come in one at a time, in bus order; the
/// lock only orders them against attach/detach from the client threads. Never blocks on I/O.
///
/// A gap in the bus (Redis' Pub/Sub link lost) is bridged: from `Hold` on, events are kept
/// back; `Resume` first delivers the room messages the gap hid (read back from history), then
/// the kept events, skipping any message already delivered, and puts local sessions back in the
/// rooms they are in by their own account.
type LocalRouter(log: Log, now: unit -> int64) =
    let gate = obj ()
    let mutable routing = Routing.empty
    let outboxes = Dictionary<SessionId, Outbox>()
    // The room each local session is in by its own account: the truth after a gap.
    let intended = Dictionary<SessionId, RoomName>()
    // The newest message delivered per room; history ids increase within a room.
    let lastSeen = Dictionary<RoomName, struct (int64 * int64)>()
    let mutable held: List<BusEvent> = null
    let mutable heldSinceMs = 0L

    /// Ids as `<ms>-<n>` (Redis stream) or `<n>` (in memory), in their order.
    let order (id: MsgId) =
        let s = MsgId.value id
        let dash = s.IndexOf '-'

        let part (t: string) =
            match Int64.TryParse t with
            | true, n -> n
            | _ -> 0L

        if dash < 0 then
            struct (part s, 0L)
        else
            struct (part (s.Substring(0, dash)), part (s.Substring(dash + 1)))

    /// Skips a room message delivered already (replayed, then seen live again).
    let fresh room id =
        let key = order id

        match lastSeen.TryGetValue room with
        | true, seen when compare key seen <= 0 -> false
        | _ ->
            lastSeen[room] <- key
            true

    let deliver (deliveries: Delivery list) =
        for delivery in deliveries do
            match delivery with
            | Deliver(sids, msg) ->
                let line = Wire.encode msg

                for sid in sids do
                    match outboxes.TryGetValue sid with
                    | true, outbox -> outbox.Send line
                    | _ -> ()
            | Disconnect(sid, msg) ->
                match outboxes.TryGetValue sid with
                | true, outbox ->
                    outboxes.Remove sid |> ignore
                    intended.Remove sid |> ignore
                    outbox.SendLast(Wire.encode msg)
                | _ -> ()

    /// Under the lock.
    let apply (event: BusEvent) =
        match event with
        | BusEvent.Said(room, id, _, _) when not (fresh room id) -> ()
        | _ ->
            let next, deliveries = Routing.route event routing
            routing <- next
            deliver deliveries

    member _.Attach(sid: SessionId, user: Username, outbox: Outbox) =
        lock gate (fun () ->
            routing <- Routing.attach sid user routing
            outboxes[sid] <- outbox
            intended[sid] <- RoomName.lobby)

    /// The session moved, by its own account (shared state agreed).
    member _.Intend(sid: SessionId, room: RoomName) =
        lock gate (fun () ->
            if intended.ContainsKey sid then
                intended[sid] <- room)

    member _.Detach(sid: SessionId) =
        lock gate (fun () ->
            routing <- Routing.detach sid routing
            outboxes.Remove sid |> ignore
            intended.Remove sid |> ignore)

    /// Local sessions and their rooms, to rebuild shared state after Redis lost it.
    member _.Sessions() : (Username * SessionId * RoomName) list =
        lock gate (fun () -> [
            for sid, user in Routing.sessions routing do
                match intended.TryGetValue sid with
                | true, room -> user, sid, room
                | _ -> ()
        ])

    member _.Dispatch(event: BusEvent) =
        lock gate (fun () -> if isNull held then apply event else held.Add event)

        if log.Enabled LogLevel.Debug then
            log.Debug("bus event", [ "event", box (BusCodec.encode event) ])

    /// The bus went quiet: keep what comes until `Resume`.
    member _.Hold() =
        lock gate (fun () ->
            if isNull held then
                held <- List()
                heldSinceMs <- now ())

        log.Warn "bus link lost; holding delivery until it is back"

    /// Where to read history from to bridge the gap: each room with local members, and the
    /// newest message delivered there (or a little before the gap began).
    member _.GapStarts() : (RoomName * MsgId) list =
        lock gate (fun () ->
            let rooms = (Routing.rooms routing @ List.ofSeq intended.Values) |> List.distinct
            let fallback = MsgId.tryCreate $"{max 0L (heldSinceMs - 2000L)}-0" |> Option.get

            [
                for room in rooms ->
                    match lastSeen.TryGetValue room with
                    | true, struct (ms, n) -> room, (MsgId.tryCreate $"{ms}-{n}" |> Option.defaultValue fallback)
                    | _ -> room, fallback
            ])

    /// Delivers the messages the gap hid, then what was held, and routes on as usual.
    member _.Resume(missed: (RoomName * HistoryEntry list) list) =
        lock gate (fun () ->
            if not (isNull held) then
                for room, entries in missed do
                    for e in entries do
                        apply (BusEvent.Said(room, e.Id, e.From, e.Text))

                for KeyValue(sid, room) in intended do
                    if Routing.roomOf sid routing <> Some room then
                        routing <- Routing.place sid room routing

                let kept = held
                held <- null

                for event in kept do
                    apply event)

        log.Info "bus link back; delivery resumed"
