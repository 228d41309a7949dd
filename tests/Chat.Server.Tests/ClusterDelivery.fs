namespace Chat.Server.Tests

open System
open System.Threading.Tasks
open NUnit.Framework
open ClusterTesting

/// Three instances on one Redis: rooms, presence, lists, accounts, subscriptions and history
/// reach across instances (PROTOCOL.md "After login", "Guarantees").
[<TestFixture>]
type ClusterDelivery() =
    inherit ClusterFixture([ "--msg-rate"; "0" ], 3, "deliv")

    [<Test>]
    member this.``room messages and presence events cross instances``() =
        let c = this.Cluster
        let room = c.Name "room"
        let a, an = c.UserIn(1, "a", room)
        let b, bn = c.User(2, "b")
        Assert.That(b.Command $"/join {room}", Is.EqualTo $"OK JOIN {room}")
        a.Expect $"SYS JOIN {room} {bn}" |> ignore
        a.Send "hello from one"
        let atA = a.ExpectMatch(Lines.isMsgFrom an, "a's own MSG")
        let atB = b.ExpectMatch(Lines.isMsgFrom an, "a's MSG on the other instance")
        Assert.That(atB, Is.EqualTo atA, "one message, one id, the same line everywhere")
        let r, _, from, text = Lines.msg atA
        Assert.That((r, from, text), Is.EqualTo((room, an, "hello from one")))
        b.Send "hello from two"
        let fromB = b.ExpectMatch(Lines.isMsgFrom bn, "b's own MSG")
        Assert.That(a.ExpectMatch(Lines.isMsgFrom bn, "b's MSG"), Is.EqualTo fromB)
        let d, dn = c.UserIn(3, "d", room)
        a.Expect $"SYS JOIN {room} {dn}" |> ignore
        b.Expect $"SYS JOIN {room} {dn}" |> ignore
        Assert.That(b.Command "/leave", Is.EqualTo $"OK LEAVE {room}")
        a.Expect $"SYS LEAVE {room} {bn}" |> ignore
        d.Expect $"SYS LEAVE {room} {bn}" |> ignore
        d.Disconnect()
        a.Expect $"SYS LEAVE {room} {dn}" |> ignore
        a.Send "after they left"

        a.ExpectMatch((fun l -> Lines.isMsgFrom an l && l.EndsWith " after they left"), "a's MSG")
        |> ignore

        b.AssertNotReceived((fun l -> l.EndsWith " after they left"), "a message of a room it left")
        a.AssertNotReceived((fun l -> l.StartsWith "SYS " && l.EndsWith $" {an}"), "events about itself")

    [<Test>]
    member this.``/users, /rooms and /who count the users of every instance``() =
        let c = this.Cluster
        let room = c.Name "room"
        let clients = [ for i in 1..3 -> c.UserIn(i, "u", room) ]
        let names = clients |> List.map snd |> List.sort

        for client, _ in clients do
            let who = Lines.items "WHO" (client.Command "/who")
            Assert.That(who, Is.EqualTo(box (room :: names)), client.Describe())
            let rooms = Lines.items "ROOMS" (client.Command "/rooms")
            Assert.That(rooms, Does.Contain $"{room}:3")
            Assert.That(Lines.isOrdinalSorted rooms, Is.True, String.concat " " rooms)
            let online = users client

            for n in names do
                Assert.That(online, Does.Contain n)

            Assert.That(Lines.isOrdinalSorted online, Is.True, String.concat " " online)

    [<Test>]
    member this.``an account registered on one instance logs in on the others``() =
        let c = this.Cluster
        let first, name = c.User(1, "acct")
        Assert.That(first.Command "/quit", Is.EqualTo "OK QUIT")
        first.WaitClosed()
        let taken = c.Connect(3, "taken")
        Assert.That(taken.Command $"REGISTER {name} {Cluster.Password}", Does.StartWith "ERR USER_EXISTS ")
        Assert.That(taken.Command $"LOGIN {name} wrong-password", Does.StartWith "ERR AUTH_FAILED ")
        let second = c.Login(2, name)
        Assert.That(users second, Does.Contain name)

    [<Test>]
    member this.``/publish on one instance reaches subscribers on the others, in any room``() =
        let c = this.Cluster
        let p, pn = c.UserIn(2, "pub", c.Name "room")
        let s1, s1n = c.UserIn(1, "sub", c.Name "room")
        let s3, s3n = c.User(3, "sub")
        let bystander, _ = c.User(1, "by")

        for s in [ s1; s3 ] do
            Assert.That(s.Command $"/subscribe {pn}", Is.EqualTo $"OK SUBSCRIBE {pn}")

        let id, n = Lines.published (p.Command "/publish news for all")
        Assert.That(n, Is.EqualTo 2)

        for s in [ s1; s3 ] do
            Assert.That(s.ExpectMatch(Lines.isPubFrom pn, "the PUB"), Is.EqualTo $"PUB {id} {pn} news for all")

        bystander.AssertNotReceived(Lines.isPubFrom pn, "a PUB it did not subscribe to")
        Assert.That(s3.Command "/quit", Is.EqualTo "OK QUIT")
        waitUsers p (TimeSpan.FromSeconds 10.0) $"{s3n} offline" (List.contains s3n >> not)
        let id2, n2 = Lines.published (p.Command "/publish fewer now")
        Assert.That(n2, Is.EqualTo 1)
        Assert.That(id2, Is.Not.EqualTo id)
        Assert.That(s1.ExpectMatch(Lines.isPubFrom pn, "the second PUB"), Is.EqualTo $"PUB {id2} {pn} fewer now")
        Assert.That(p.Command "/subs", Is.EqualTo "OK SUBS")
        Assert.That(s1.Command "/subs", Is.EqualTo $"OK SUBS {pn}")
        ignore s1n

    [<Test>]
    member this.``/history on one instance shows what was said on another, with the same ids``() =
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
        Assert.That(reply, Is.EqualTo "OK HISTORY 5")

        let hist =
            b.TakeAll(fun l -> l.StartsWith "HIST ")
            |> List.map (fun l ->
                let r, id, from, _, text = Lines.hist l
                Assert.That((r, from), Is.EqualTo((room, an)))
                id, text)

        Assert.That(hist, Is.EqualTo(box sent))

    [<Test>]
    member this.``each publisher's MSG and PUB lines keep their order across instances``() =
        let c = this.Cluster
        let room = c.Name "room"
        let count = 300
        let p1, p1n = c.UserIn(1, "p", room)
        let p2, p2n = c.UserIn(2, "p", room)
        let inRoom = [ c.UserIn(1, "r", room); c.UserIn(2, "r", room) ]
        let elsewhere = [ c.UserIn(3, "e", c.Name "room") ]

        for r, _ in inRoom @ elsewhere do
            for p in [ p1n; p2n ] do
                Assert.That(r.Command $"/subscribe {p}", Is.EqualTo $"OK SUBSCRIBE {p}")

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

        let expect (inTheRoom: bool) (p: string) = [
            for i in 0 .. count - 1 do
                if inTheRoom || isPublish i then
                    $"{p}-{i}"
        ]

        for r, _ in inRoom do
            for p in [ p1n; p2n ] do
                expectFrom r p (expect true p) (TimeSpan.FromSeconds 30.0)

        for r, _ in elsewhere do
            for p in [ p1n; p2n ] do
                expectFrom r p (expect false p) (TimeSpan.FromSeconds 30.0)

        // The publishers: their own room messages in order, one OK PUBLISH per /publish.
        for p, pn in [ p1, p1n; p2, p2n ] do
            let own = [
                for i in 0 .. count - 1 do
                    if not (isPublish i) then
                        $"{pn}-{i}"
            ]

            expectFrom p pn own (TimeSpan.FromSeconds 30.0)
            let published = p.Received |> List.filter (fun l -> l.StartsWith "OK PUBLISH ")
            Assert.That(published, Has.Length.EqualTo(count / 3))
            Assert.That(p.Received |> List.filter (fun l -> l.StartsWith "ERR "), Is.Empty)
