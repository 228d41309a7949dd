namespace Chat.Server

open System.Collections.Generic
open Chat.Domain

/// This instance's end of the bus: holds the pure `Routing` of local sessions and turns each
/// bus event's deliveries into queued lines. Events come in one at a time, in bus order; the
/// lock only orders them against attach/detach from the client threads. Never blocks on I/O.
type LocalRouter(log: Log) =
    let gate = obj ()
    let mutable routing = Routing.empty
    let outboxes = Dictionary<SessionId, Outbox>()

    member _.Attach(sid: SessionId, user: Username, outbox: Outbox) =
        lock gate (fun () ->
            routing <- Routing.attach sid user routing
            outboxes[sid] <- outbox)

    member _.Detach(sid: SessionId) =
        lock gate (fun () ->
            routing <- Routing.detach sid routing
            outboxes.Remove sid |> ignore)

    /// Local sessions and the rooms the bus has put them in, to rebuild shared state after an outage.
    member _.Sessions() : (Username * SessionId * RoomName) list =
        lock gate (fun () -> [
            for sid, user in Routing.sessions routing do
                match Routing.roomOf sid routing with
                | Some room -> user, sid, room
                | None -> ()
        ])

    member _.Dispatch(event: BusEvent) =
        lock gate (fun () ->
            let next, deliveries = Routing.route event routing
            routing <- next

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
                        outbox.SendLast(Wire.encode msg)
                    | _ -> ())

        if log.Enabled LogLevel.Debug then
            log.Debug("bus event", [ "event", box (BusCodec.encode event) ])
