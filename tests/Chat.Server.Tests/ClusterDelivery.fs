namespace Chat.Server.Tests

open System
open System.Threading.Tasks
open Expecto
open Chat.Testing
open ClusterTesting

/// Three instances on one Redis: rooms, presence, lists, accounts, subscriptions and history
/// reach across instances (PROTOCOL.md "After login", "Guarantees").
module ClusterDelivery =
    [<Tests>]
    let tests =
        ClusterSuite.onEachTopology "ClusterDelivery" ([ "--msg-rate"; "0" ], 3, "deliv") [
            case "room messages and presence events cross instances"
            <| fun (this: ClusterFixture) ->

                let c = this.Cluster
                let room = c.Name "room"
                let a, an = c.UserIn(1, "a", room)
                let b, bn = c.User(2, "b")
                Expect.equal (b.Command $"/join {room}") $"OK JOIN {room}" "b.Command $'/join {room}'"
                a.Expect $"SYS JOIN {room} {bn}" |> ignore
                a.Send "hello from one"
                let atA = a.ExpectMatch(Lines.isMsgFrom an, "a's own MSG")
                let atB = b.ExpectMatch(Lines.isMsgFrom an, "a's MSG on the other instance")
                Expect.equal atB atA "one message, one id, the same line everywhere"
                let r, _, from, text = Lines.msg atA
                Expect.equal (r, from, text) (room, an, "hello from one") "(r, from, text)"
                b.Send "hello from two"
                let fromB = b.ExpectMatch(Lines.isMsgFrom bn, "b's own MSG")

                Expect.equal
                    (a.ExpectMatch(Lines.isMsgFrom bn, "b's MSG"))
                    fromB
                    "a.ExpectMatch(Lines.isMsgFrom bn, 'b's MSG')"

                let d, dn = c.UserIn(3, "d", room)
                a.Expect $"SYS JOIN {room} {dn}" |> ignore
                b.Expect $"SYS JOIN {room} {dn}" |> ignore
                Expect.equal (b.Command "/leave") $"OK LEAVE {room}" "b.Command '/leave'"
                a.Expect $"SYS LEAVE {room} {bn}" |> ignore
                d.Expect $"SYS LEAVE {room} {bn}" |> ignore
                d.Disconnect()
                a.Expect $"SYS LEAVE {room} {dn}" |> ignore
                a.Send "after they left"

                a.ExpectMatch((fun l -> Lines.isMsgFrom an l && l.EndsWith " after they left"), "a's MSG")
                |> ignore

                b.AssertNotReceived((fun l -> l.EndsWith " after they left"), "a message of a room it left")
                a.AssertNotReceived((fun l -> l.StartsWith "SYS " && l.EndsWith $" {an}"), "events about itself")

            case "/users, /rooms and /who count the users of every instance"
            <| fun (this: ClusterFixture) ->
                let c = this.Cluster
                let room = c.Name "room"
                let clients = [ for i in 1..3 -> c.UserIn(i, "u", room) ]
                let names = clients |> List.map snd |> List.sort

                for client, _ in clients do
                    let who = Lines.items "WHO" (client.Command "/who")
                    Expect.equal who (room :: names) (client.Describe())
                    let rooms = Lines.items "ROOMS" (client.Command "/rooms")
                    Expect.contains rooms $"{room}:3" "rooms"
                    Expect.isTrue (Lines.isOrdinalSorted rooms) (String.concat " " rooms)
                    let online = users client

                    for n in names do
                        Expect.contains online n "online"

                    Expect.isTrue (Lines.isOrdinalSorted online) (String.concat " " online)

            case "an account registered on one instance logs in on the others"
            <| fun (this: ClusterFixture) ->
                let c = this.Cluster
                let first, name = c.User(1, "acct")
                Expect.equal (first.Command "/quit") "OK QUIT" "first.Command '/quit'"
                first.WaitClosed()
                let taken = c.Connect(3, "taken")

                Expect.stringStarts
                    (taken.Command $"REGISTER {name} {Cluster.Password}")
                    "ERR USER_EXISTS "
                    "taken.Command $'REGISTER {name} {Cluster.Password}'"

                Expect.stringStarts
                    (taken.Command $"LOGIN {name} wrong-password")
                    "ERR AUTH_FAILED "
                    "taken.Command $'LOGIN {name} wrong-password'"

                let second = c.Login(2, name)
                Expect.contains (users second) name "users second"

            case "/publish on one instance reaches subscribers on the others, in any room"
            <| fun (this: ClusterFixture) ->
                let c = this.Cluster
                let p, pn = c.UserIn(2, "pub", c.Name "room")
                let s1, s1n = c.UserIn(1, "sub", c.Name "room")
                let s3, s3n = c.User(3, "sub")
                let bystander, _ = c.User(1, "by")

                for s in [ s1; s3 ] do
                    Expect.equal (s.Command $"/subscribe {pn}") $"OK SUBSCRIBE {pn}" "s.Command $'/subscribe {pn}'"

                let id, n = Lines.published (p.Command "/publish news for all")
                Expect.equal n 2 "n"

                for s in [ s1; s3 ] do
                    Expect.equal
                        (s.ExpectMatch(Lines.isPubFrom pn, "the PUB"))
                        $"PUB {id} {pn} news for all"
                        "s.ExpectMatch(Lines.isPubFrom pn, 'the PUB')"

                bystander.AssertNotReceived(Lines.isPubFrom pn, "a PUB it did not subscribe to")
                Expect.equal (s3.Command "/quit") "OK QUIT" "s3.Command '/quit'"
                waitUsers p (TimeSpan.FromSeconds 10.0) $"{s3n} offline" (List.contains s3n >> not)
                let id2, n2 = Lines.published (p.Command "/publish fewer now")
                Expect.equal n2 1 "n2"
                Expect.notEqual id2 id "id2"

                Expect.equal
                    (s1.ExpectMatch(Lines.isPubFrom pn, "the second PUB"))
                    $"PUB {id2} {pn} fewer now"
                    "s1.ExpectMatch(Lines.isPubFrom pn, 'the second PUB')"

                Expect.equal (p.Command "/subs") "OK SUBS" "p.Command '/subs'"
                Expect.equal (s1.Command "/subs") $"OK SUBS {pn}" "s1.Command '/subs'"
                ignore s1n

            case "/history on one instance shows what was said on another, with the same ids"
            <| fun (this: ClusterFixture) ->
                let c = this.Cluster
                let room = c.Name "room"
                let a, an = c.UserIn(1, "a", room)

                let sent = [
                    for i in 1..5 ->
                        let text = $"line {i} of history"
                        a.Send text
                        let _, id, _, _ = a.ExpectMatch(Lines.isMsgFrom an, "the MSG") |> Lines.msg
                        id, text
                ]

                let b, _ = c.UserIn(2, "b", room)
                b.Send "/history 5"
                let reply = b.ExpectPrefix "OK HISTORY"
                Expect.equal reply "OK HISTORY 5" "reply"

                let hist =
                    b.TakeAll(fun l -> l.StartsWith "HIST ")
                    |> List.map (fun l ->
                        let r, id, from, _, text = Lines.hist l
                        Expect.equal (r, from) (room, an) "(r, from)"
                        id, text)

                Expect.equal hist (sent) "hist"

            // Ordering is per stream: a room's MSG lines in one order, a publisher's PUB lines in
            // theirs; no order between the two (PROTOCOL.md, Guarantees).
            case "each publisher's MSG lines and PUB lines keep their order across instances"
            <| fun (this: ClusterFixture) ->
                let c = this.Cluster
                let room = c.Name "room"
                let count = 300
                let p1, p1n = c.UserIn(1, "p", room)
                let p2, p2n = c.UserIn(2, "p", room)
                let inRoom = [ c.UserIn(1, "r", room); c.UserIn(2, "r", room) ]
                let elsewhere = [ c.UserIn(3, "e", c.Name "room") ]

                for r, _ in inRoom @ elsewhere do
                    for p in [ p1n; p2n ] do
                        Expect.equal (r.Command $"/subscribe {p}") $"OK SUBSCRIBE {p}" "r.Command $'/subscribe {p}'"

                let isPublish i = i % 3 = 2

                let line (p: string) i =
                    if isPublish i then $"/publish {p}-{i}" else $"{p}-{i}"

                [ p1, p1n; p2, p2n ]
                |> List.map (fun (client, name) ->
                    Task.Run(fun () ->
                        for i in 0 .. count - 1 do
                            client.Send(line name i)))
                |> Array.ofList
                |> Task.WaitAll

                let expect (published: bool) (p: string) = [
                    for i in 0 .. count - 1 do
                        if isPublish i = published then
                            $"{p}-{i}"
                ]

                for r, _ in inRoom do
                    for p in [ p1n; p2n ] do
                        expectFromBy msgsFrom r p (expect false p) (TimeSpan.FromSeconds 30.0)
                        expectFromBy pubsFrom r p (expect true p) (TimeSpan.FromSeconds 30.0)

                for r, _ in elsewhere do
                    for p in [ p1n; p2n ] do
                        expectFromBy msgsFrom r p [] (TimeSpan.FromSeconds 1.0)
                        expectFromBy pubsFrom r p (expect true p) (TimeSpan.FromSeconds 30.0)

                // The publishers: their own room messages in order, one OK PUBLISH per /publish.
                for p, pn in [ p1, p1n; p2, p2n ] do
                    let own = [
                        for i in 0 .. count - 1 do
                            if not (isPublish i) then
                                $"{pn}-{i}"
                    ]

                    expectFromBy msgsFrom p pn own (TimeSpan.FromSeconds 30.0)
                    let published = p.Received |> List.filter (fun l -> l.StartsWith "OK PUBLISH ")
                    Expect.hasLength published (count / 3) "published"

                    Expect.isEmpty
                        (p.Received |> List.filter (fun l -> l.StartsWith "ERR "))
                        "p.Received |> List.filter (fun l -> l.StartsWith 'ERR ')"
        ]
