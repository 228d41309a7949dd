namespace Chat.Domain

/// What instances tell each other through shared state (in memory: the one instance itself). Each
/// event belongs to one stream, and every instance sees a stream's events in one order: a room's
/// (Entered, Left, Said), a publisher's (Published), an instance's own control events (Kicked).
/// No order holds between streams.
[<RequireQualifiedAccess>]
type BusEvent =
    /// A session is in `room` now (it logged in, or moved there).
    | Entered of Username * SessionId * room: RoomName
    /// A session is no longer in `room` (it moved on, or ended).
    | Left of Username * SessionId * room: RoomName
    | Said of RoomName * MsgId * from: Username * text: string
    /// `recipients`: the publisher's subscribers that were online when it was sent.
    | Published of MsgId * from: Username * text: string * recipients: Username list
    /// A direct message to `recipient`, delivered to its session wherever it is logged in.
    | Direct of MsgId * from: Username * recipient: Username * text: string
    /// A newer login took the name over: this session must go.
    | Kicked of Username * SessionId

/// One line for many local sessions: rendered once by the shell, queued to each. A set: a room's
/// members are handed on as they are held, without a copy per message.
type Delivery =
    | Deliver of Set<SessionId> * ServerMsg
    /// Send the line, then close the session.
    | Disconnect of SessionId * ServerMsg

/// The local sessions of one instance and the rooms they are in, as the room streams told it.
/// A session receives a room's traffic from its own `Entered` in that room's order on, until its
/// `Left` there, or its `Entered` in another room, whichever this instance sees first: one room at
/// a time, so a session never hears a room it left (streams of two rooms are not ordered).
type Routing = private {
    Users: Map<SessionId, Username>
    RoomOf: Map<SessionId, RoomName>
    ByUser: Map<Username, SessionId>
    Members: Map<RoomName, Set<SessionId>>
    /// The `OK LOGIN`/`OK REGISTER` of a session, held until its own `Entered` comes by.
    Welcome: Map<SessionId, ServerMsg>
}

module Routing =
    let empty = {
        Users = Map.empty
        RoomOf = Map.empty
        ByUser = Map.empty
        Members = Map.empty
        Welcome = Map.empty
    }

    let forcedLogoutText = "Logged in from another location."

    let private members room r =
        Map.tryFind room r.Members |> Option.defaultValue Set.empty

    let private others room sid r = members room r |> Set.remove sid

    let private enter sid room r = {
        r with
            RoomOf = Map.add sid room r.RoomOf
            Members = Map.add room (members room r |> Set.add sid) r.Members
    }

    let private exitRoom sid r =
        match Map.tryFind sid r.RoomOf with
        | None -> r
        | Some room ->
            let left = members room r |> Set.remove sid

            {
                r with
                    RoomOf = Map.remove sid r.RoomOf
                    Members =
                        if left.IsEmpty then
                            Map.remove room r.Members
                        else
                            Map.add room left r.Members
            }

    /// A session of this instance logged in; it is routed once its `Entered` comes by.
    let attach (sid: SessionId) (user: Username) (r: Routing) = {
        r with
            Users = Map.add sid user r.Users
            ByUser = Map.add user sid r.ByUser
    }

    /// A session of this instance logged in and is told so by `welcome` when its own `Entered`
    /// comes by, just before the room's traffic: by the time its client reads the reply, every
    /// event ordered after its entry reaches it (a reply sent before the entry was ordered would
    /// let a client act on it and miss the answer, e.g. the JOIN of a user it just asked in).
    let attachWelcomed (sid: SessionId) (user: Username) (welcome: ServerMsg) (r: Routing) = {
        attach sid user r with
            Welcome = Map.add sid welcome r.Welcome
    }

    /// A session of this instance ended; idempotent.
    let detach (sid: SessionId) (r: Routing) =
        let r = {
            exitRoom sid r with
                Welcome = Map.remove sid r.Welcome
        }

        match Map.tryFind sid r.Users with
        | None -> r
        | Some user -> {
            r with
                Users = Map.remove sid r.Users
                ByUser =
                    if Map.tryFind user r.ByUser = Some sid then
                        Map.remove user r.ByUser
                    else
                        r.ByUser
          }

    let isAttached sid r = Map.containsKey sid r.Users

    /// The welcome of `sid` that its `Entered` has not delivered yet.
    let pendingWelcome sid r = Map.tryFind sid r.Welcome

    /// Forgets the welcome of `sid`: the shell sent it itself (the stream did not bring the entry
    /// back in time, as during an outage).
    let dropWelcome sid r = {
        r with
            Welcome = Map.remove sid r.Welcome
    }


    let roomOf sid r = Map.tryFind sid r.RoomOf

    /// Sessions attached here.
    let sessions r = r.Users |> Map.toList

    let private deliver (sids: Set<SessionId>) msg =
        if sids.IsEmpty then [] else [ Deliver(sids, msg) ]

    /// Routes one bus event: the new routing and the lines for local sessions.
    let route (event: BusEvent) (r: Routing) : Routing * Delivery list =
        match event with
        | BusEvent.Entered(user, sid, room) ->
            let told = deliver (others room sid r) (Sys(UserJoined(room, user)))

            match Map.tryFind sid r.Welcome with
            | Some welcome when isAttached sid r ->
                let r = dropWelcome sid r
                enter sid room (exitRoom sid r), Deliver(Set.singleton sid, welcome) :: told
            | _ ->
                (if isAttached sid r then
                     enter sid room (exitRoom sid r)
                 else
                     r),
                told
        | BusEvent.Left(user, sid, room) ->
            let r = if roomOf sid r = Some room then exitRoom sid r else r
            r, deliver (others room sid r) (Sys(UserLeft(room, user)))
        | BusEvent.Said(room, id, from, text) -> r, deliver (members room r) (Msg(room, id, from, text))
        | BusEvent.Published(id, from, text, recipients) ->
            let sids = recipients |> List.choose (fun u -> Map.tryFind u r.ByUser) |> Set.ofList

            r, deliver sids (Pub(id, from, text))
        | BusEvent.Direct(id, from, recipient, text) ->
            match Map.tryFind recipient r.ByUser with
            | Some sid -> r, deliver (Set.singleton sid) (Dm(id, from, text))
            | None -> r, []
        | BusEvent.Kicked(_, sid) when isAttached sid r ->
            // A login taken over before its entry came by still hears that it succeeded first.
            let welcome =
                match Map.tryFind sid r.Welcome with
                | Some msg -> [ Deliver(Set.singleton sid, msg) ]
                | None -> []

            detach sid r, welcome @ [ Disconnect(sid, Sys(ForcedLogout forcedLogoutText)) ]
        | BusEvent.Kicked _ -> r, []
