/// The delivery guarantees through routing: per-publisher order, exactly once, and only to
/// members (MSG) and recipients (PUB), with receivers spread over two instances and entering
/// the room at any point of the bus.
module Chat.Domain.Tests.DeliveryOrderProperties

open FsCheck
open FsCheck.FSharp
open Expecto
open Chat.Tests.Cases
open Chat.Domain
open Chat.Domain.Tests.Builders

type Receiver = {
    Sid: SessionId
    User: Username
    /// In the room the publishers say things in; else in another room.
    Member: bool
    /// Which of the two instances the session is on.
    Instance: int
    /// Its `Entered` comes before the bus event at this index (or after the last one).
    EnterAt: int
}

type Scenario = {
    Receivers: Receiver list
    /// Each publisher's bus events, in the order it sent them.
    Sent: (Username * BusEvent list) list
    /// All of them in one bus order that keeps each publisher's own order.
    Bus: BusEvent list
}

let private hall = room "hall"
let private side = room "side"

let private message (recipients: Username list) p k =
    let id = msgId $"{Username.value p}-{k}"

    gen {
        let! inRoom = Gen.elements [ true; false ]

        if inRoom then
            return BusEvent.Said(hall, id, p, $"said {k}")
        else
            let! rs = Gen.subListOf (recipients |> List.filter ((<>) p))
            return BusEvent.Published(id, p, $"published {k}", rs)
    }

/// The k-th occurrence of a publisher in `order` takes its k-th message.
let private interleave (sent: (Username * BusEvent list) list) (order: Username array) =
    ((Map.ofList sent, []), order)
    ||> Array.fold (fun (left, bus) p ->
        match Map.find p left with
        | m :: rest -> Map.add p rest left, m :: bus
        | [] -> left, bus)
    |> snd
    |> List.rev

let private scenario =
    gen {
        let! n = Gen.choose (1, 6)
        let users = [ for i in 0 .. n - 1 -> user $"r{i}" ]

        // Publishers are local receivers (members or not) or users on no instance here.
        let remote = [ for i in 0..2 -> user $"remote{i}" ]

        let! publishers =
            Gen.nonEmptyListOf (Gen.elements (users @ remote)) |> Gen.map List.distinct

        let! sent =
            publishers
            |> List.map (fun p ->
                gen {
                    let! count = Gen.choose (0, 8)
                    let! msgs = [ for k in 1..count -> message users p k ] |> Gen.sequenceToList
                    return p, msgs
                })
            |> Gen.sequenceToList

        let! order =
            sent
            |> List.collect (fun (p, msgs) -> List.replicate msgs.Length p)
            |> Gen.shuffle

        let flag = Gen.elements [ true; false ]

        let! flags =
            Gen.listOfLength n (Gen.zip3 flag (Gen.choose (0, 1)) (Gen.choose (0, order.Length)))

        let receivers =
            List.mapi2
                (fun i u (m, inst, at) -> {
                    Sid = sid $"s{i}"
                    User = u
                    Member = m
                    Instance = inst
                    EnterAt = at
                })
                users
                flags

        return {
            Receivers = receivers
            Sent = sent
            Bus = interleave sent order
        }
    }

/// Every instance sees every event in bus order and routes it to its own sessions.
let private run (s: Scenario) instance =
    let locals = s.Receivers |> List.filter (fun x -> x.Instance = instance)

    let attached =
        (Routing.empty, locals) ||> List.fold (fun r x -> Routing.attach x.Sid x.User r)

    let enteredAt i =
        s.Receivers
        |> List.filter (fun x -> x.EnterAt = i)
        |> List.map (fun x -> BusEvent.Entered(x.User, x.Sid, (if x.Member then hall else side)))

    let stream = [
        for i, e in List.indexed s.Bus do
            yield! enteredAt i
            e
        yield! enteredAt s.Bus.Length
    ]

    routeAll stream attached |> snd

let private receivedBy sid deliveries =
    deliveries
    |> List.collect (function
        | Deliver(ss, m) -> if ss.Contains sid then [ m ] else []
        | Disconnect(s, m) -> if s = sid then [ m ] else [])

/// MSG from the receiver's entry on, when it is a member; PUB when it is a recipient.
let private expectedBy (s: Scenario) (x: Receiver) (events: BusEvent list) =
    let sentAfterEntry e =
        List.findIndex ((=) e) s.Bus >= x.EnterAt

    events
    |> List.choose (function
        | BusEvent.Said(r, id, u, t) as e when x.Member && sentAfterEntry e -> Some(Msg(r, id, u, t))
        | BusEvent.Published(id, u, t, rs) when List.contains x.User rs -> Some(Pub(id, u, t))
        | _ -> None)

let private sender =
    function
    | Msg(_, _, u, _)
    | Pub(_, u, _) -> Some u
    | _ -> None

let private guarantees (s: Scenario) =
    let deliveries = [| run s 0; run s 1 |]

    let orderKept =
        s.Sent
        |> List.forall (fun (_, msgs) -> s.Bus |> List.filter (fun e -> List.contains e msgs) = msgs)

    let perReceiver (x: Receiver) =
        let got =
            receivedBy x.Sid deliveries[x.Instance] |> List.filter (sender >> Option.isSome)

        let elsewhere = receivedBy x.Sid deliveries[1 - x.Instance]

        let fromEach =
            s.Sent
            |> List.forall (fun (p, msgs) -> got |> List.filter (sender >> (=) (Some p)) = expectedBy s x msgs)

        let nothingElse =
            got.Length = (s.Sent |> List.sumBy (snd >> expectedBy s x >> List.length))

        fromEach && nothingElse && elsewhere.IsEmpty

    Prop.label "the interleaving keeps each publisher's order" orderKept
    .&. Prop.label "every receiver gets exactly its messages, in order" (List.forall perReceiver s.Receivers)

[<Tests>]
let tests =
    testList "DeliveryOrderProperties" [
        testPropertyWithConfig
            (maxTest 500)
            "every receiver sees each publisher's messages in send order, once, and nothing else"
            (Prop.forAll (Arb.fromGen scenario) guarantees)
    ]
