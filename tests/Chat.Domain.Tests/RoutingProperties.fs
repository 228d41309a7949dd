/// Properties of `Routing` over arbitrary histories of attaches, detaches and bus events.
module Chat.Domain.Tests.RoutingProperties

open FsCheck
open FsCheck.FSharp
open Expecto
open Chat.Tests.Cases
open Chat.Domain
open Chat.Domain.Tests.Builders

/// One step in the life of an instance's routing.
type Op =
    | Attach of SessionId * Username
    | Detach of SessionId
    | Route of BusEvent

// Small pools, so that the same names and sessions meet again. A session id belongs to one
// user (ids are fresh for every login); u0 has two sessions, as during a forced logout.
let private users = [ for i in 0..3 -> user $"u{i}" ]
let private sessions = [ for i in 0..4 -> sid $"s{i}", users[i % users.Length] ]
let private sids = List.map fst sessions
let private rooms = [ lobby; room "a"; room "b" ]

let private anySession = Gen.elements sessions
let private anySid = Gen.elements sids
let private anyUser = Gen.elements users
let private anyRoom = Gen.elements rooms
let private anyId = Gen.choose (0, 9) |> Gen.map (string >> msgId)

let private event =
    Gen.oneof [
        Gen.map2 (fun (s, u) r -> BusEvent.Entered(u, s, r)) anySession anyRoom
        Gen.map2 (fun (s, u) r -> BusEvent.Left(u, s, r)) anySession anyRoom
        Gen.map3 (fun r id u -> BusEvent.Said(r, id, u, "t")) anyRoom anyId anyUser
        Gen.map3 (fun id u rs -> BusEvent.Published(id, u, "t", rs)) anyId anyUser (Gen.listOf anyUser)
        Gen.map (fun (s, u) -> BusEvent.Kicked(u, s)) anySession
    ]

let private op =
    Gen.frequency [
        2, Gen.map Attach anySession
        1, Gen.map Detach anySid
        5, Gen.map Route event
    ]

/// A routing built by a random history, and the deliveries that history made.
let private history =
    Gen.listOf op
    |> Gen.map (
        List.fold
            (fun (r, ds) op ->
                match op with
                | Attach(s, u) -> Routing.attach s u r, ds
                | Detach s -> Routing.detach s r, ds
                | Route e ->
                    let r, more = Routing.route e r
                    r, ds @ more)
            (Routing.empty, [])
    )

let private withHistory f =
    Prop.forAll (Arb.fromGen (Gen.zip history anySid)) (fun ((r, ds), s) -> f r ds s)

/// A property over 300 histories (FsCheck's defaults otherwise: the histories have their own generator).
let private check name property =
    testPropertyWithConfig (maxTest 300) name property

[<Tests>]
let tests =
    testList "RoutingProperties" [
        check
            "detaching twice is detaching once"
            (withHistory (fun r _ s -> Routing.detach s (Routing.detach s r) = Routing.detach s r))

        check
            "a detached session is not attached and in no room"
            (withHistory (fun r _ s ->
                let r = Routing.detach s r
                not (Routing.isAttached s r) && Routing.roomOf s r = None))

        check
            "kicking a session that is not attached changes nothing"
            (withHistory (fun r _ s ->
                let r = Routing.detach s r
                Routing.route (BusEvent.Kicked(users[0], s)) r = (r, [])))

        check
            "leaving a room one is not in changes nobody's room"
            (withHistory (fun r _ s ->
                let r = Routing.detach s r
                let r', _ = Routing.route (BusEvent.Left(users[0], s, lobby)) r
                r' = r))

        check
            "only attached sessions are in rooms"
            (withHistory (fun r _ _ ->
                sids
                |> List.forall (fun s -> Routing.roomOf s r = None || Routing.isAttached s r)))

        check
            "every delivery names at least one session"
            (withHistory (fun _ ds _ ->
                ds
                |> List.forall (function
                    | Deliver(ss, _) -> not ss.IsEmpty
                    | Disconnect _ -> true)))

        check
            "a room message reaches exactly the sessions routed to that room"
            (withHistory (fun r _ _ ->
                rooms
                |> List.forall (fun room ->
                    let members =
                        sids |> List.filter (fun s -> Routing.roomOf s r = Some room) |> Set.ofList

                    let r', ds = Routing.route (BusEvent.Said(room, msgId "m", users[0], "t")) r

                    let got =
                        ds
                        |> List.map (function
                            | Deliver(ss, _) -> ss
                            | Disconnect _ -> Set.empty)
                        |> Set.unionMany

                    r' = r && got = members)))
    ]
