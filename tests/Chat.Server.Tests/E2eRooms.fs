namespace Chat.Server.Tests

open NUnit.Framework

/// Room messages, presence events and the room commands (PROTOCOL.md "After login").
[<TestFixture>]
type E2eRooms() =
    inherit ServerFixture([ "--msg-rate"; "0" ])

    [<Test>]
    member this.``a room message reaches every member, the sender included, with one id; no one else``() =
        let room = this.Name "room"
        let a, an = this.UserIn("a", room)
        let b, _ = this.UserIn("b", room)
        let c, _ = this.UserIn("c", room)
        let outsider, _ = this.UserIn("out", this.Name "elsewhere")
        a.Send "hello  room, with  double spaces "
        let seen = [ for x in [ a; b; c ] -> x.ExpectPrefix $"MSG {room} " |> Lines.msg ]
        let _, id, _, _ = seen.Head
        Assert.That(seen, Has.All.EqualTo((room, id, an, "hello  room, with  double spaces ")))
        outsider.AssertNotReceived((fun l -> l.Contains "double spaces"), "a message of another room")

        for x in [ a; b; c ] do
            x.Sync()
            Assert.That(x.Received |> List.filter (fun l -> l.Contains "double spaces"), Has.Length.EqualTo 1, "once")

    [<Test>]
    member this.``//text sends the room message /text; it is not a command``() =
        let room = this.Name "slash"
        let a, an = this.UserIn("a", room)
        let b, _ = this.UserIn("b", room)
        a.Send "//join elsewhere"
        let _, _, from, text = b.ExpectPrefix $"MSG {room} " |> Lines.msg
        Assert.That((from, text), Is.EqualTo((an, "/join elsewhere")))
        Assert.That(Lines.items "WHO" (a.Command "/who") |> List.head, Is.EqualTo room)

    [<Test>]
    member this.``logging in tells the lobby SYS JOIN lobby <me>, not me``() =
        let w, _ = this.User "w"
        let b, bn = this.User "b"
        w.Expect $"SYS JOIN lobby {bn}" |> ignore
        b.AssertNotReceived((fun l -> l.StartsWith "SYS " && l.EndsWith $" {bn}"), "an event about itself")

    [<Test>]
    member this.``/join: OK JOIN; the old room sees SYS LEAVE, the new one SYS JOIN; messages follow``() =
        let r1, r2 = this.Name "one", this.Name "two"
        let w, _ = this.User "w"
        let a, an = this.User "a"
        Assert.That(a.Command $"/join {r1}", Is.EqualTo $"OK JOIN {r1}")
        w.Expect $"SYS LEAVE lobby {an}" |> ignore
        let b, _ = this.UserIn("b", r1)
        let c, _ = this.UserIn("c", r2)
        Assert.That(a.Command $"/join {r2}", Is.EqualTo $"OK JOIN {r2}")
        b.Expect $"SYS LEAVE {r1} {an}" |> ignore
        c.Expect $"SYS JOIN {r2} {an}" |> ignore
        a.AssertNotReceived((fun l -> l.StartsWith "SYS " && l.EndsWith $" {an}"), "events about itself")
        a.Send "now in two"

        c.ExpectMatch((fun l -> l.StartsWith $"MSG {r2} " && l.EndsWith " now in two"), "the message in the new room")
        |> ignore

        b.AssertNotReceived((fun l -> l.EndsWith " now in two"), "a message of the room it left")

    [<Test>]
    member this.``/join of my own room: OK JOIN and no events, whatever its case``() =
        let room = this.Name "own"
        let a, an = this.UserIn("a", room)
        let b, _ = this.UserIn("b", room)
        Assert.That(a.Command $"/join {room}", Is.EqualTo $"OK JOIN {room}")
        Assert.That(a.Command $"/join {room.ToUpperInvariant()}", Is.EqualTo $"OK JOIN {room}")
        b.AssertNotReceived((fun l -> l.StartsWith "SYS " && l.EndsWith $" {an}"), "events about a member that stayed")
        Assert.That(Lines.items "WHO" (b.Command "/who") |> List.filter ((=) an), Has.Length.EqualTo 1)

    [<Test>]
    member this.``room names are case-insensitive and checked``() =
        let a, an = this.User "a"
        let mixed = this.Name "MixedCase#Room.x-"
        let lower = mixed.ToLowerInvariant()
        Assert.That(a.Command $"/join {mixed}", Is.EqualTo $"OK JOIN {lower}")
        Assert.That(a.Command "/who", Is.EqualTo $"OK WHO {lower} {an}")

        for bad in
            [
                "/join"
                "/join two words"
                "/join bad!room"
                "/join #chan"
                "/join " + String.replicate 65 "r"
            ] do
            Assert.That(a.Command bad, Does.StartWith "ERR BAD_ARGUMENT ", bad)

        Assert.That(a.Command("/join " + String.replicate 64 "r"), Is.EqualTo("OK JOIN " + String.replicate 64 "r"))

    [<Test>]
    member this.``/leave goes back to the lobby: OK LEAVE <old>, the same events as /join lobby``() =
        let room = this.Name "leave"
        let a, an = this.UserIn("a", room)
        let b, _ = this.UserIn("b", room)
        let w, _ = this.User "w"
        Assert.That(a.Command "/leave", Is.EqualTo $"OK LEAVE {room}")
        b.Expect $"SYS LEAVE {room} {an}" |> ignore
        w.Expect $"SYS JOIN lobby {an}" |> ignore
        let who = Lines.items "WHO" (a.Command "/who")
        Assert.That(who.Head, Is.EqualTo "lobby")
        Assert.That(who.Tail, Does.Contain an)

    [<Test>]
    member this.``/leave in the lobby: OK LEAVE lobby and no events``() =
        let a, an = this.User "a"
        let w, _ = this.User "w"
        Assert.That(a.Command "/leave", Is.EqualTo "OK LEAVE lobby")
        w.AssertNotReceived((fun l -> l.StartsWith "SYS " && l.EndsWith $" {an}"), "events about a user that stayed")

    [<Test>]
    member this.``/quit and a dropped connection both end in SYS LEAVE <room> <me>``() =
        let room = this.Name "gone"
        let b, _ = this.UserIn("b", room)
        let q, qn = this.UserIn("q", room)
        let d, dn = this.UserIn("d", room)
        q.Send "/quit"
        b.Expect $"SYS LEAVE {room} {qn}" |> ignore
        d.Disconnect()
        b.Expect $"SYS LEAVE {room} {dn}" |> ignore
        let who = Lines.items "WHO" (b.Command "/who")
        Assert.That(who, Does.Not.Contain qn)
        Assert.That(who, Does.Not.Contain dn)

    [<Test>]
    member this.``/rooms lists the rooms with members and their counts, sorted by name``() =
        let n = this.Name "s"
        let rooms = [ $"{n}-b"; $"{n}.a"; $"{n}9"; $"{n}_c" ]
        let clients = [ for r in rooms -> this.UserIn("m", r) |> fst ]
        let second, _ = this.UserIn("m", $"{n}.a")
        let listed = Lines.items "ROOMS" (second.Command "/rooms")

        Assert.That(
            Lines.isOrdinalSorted [ for item in listed -> item.Substring(0, item.LastIndexOf ':') ],
            listed |> String.concat " "
        )

        let mine = listed |> List.filter (fun i -> i.StartsWith n)
        Assert.That(mine, Is.EqualTo(box [ $"{n}-b:1"; $"{n}.a:2"; $"{n}9:1"; $"{n}_c:1" ]))
        Assert.That(clients[3].Command "/leave", Is.EqualTo $"OK LEAVE {n}_c")

        let after =
            Lines.items "ROOMS" (second.Command "/rooms")
            |> List.filter (fun i -> i.StartsWith n)

        Assert.That(after, Is.EqualTo(box [ $"{n}-b:1"; $"{n}.a:2"; $"{n}9:1" ]))

    [<Test>]
    member this.``/who lists the members of my room, sorted``() =
        let room = this.Name "who"
        let n = this.Name "w"
        let names = [ $"{n}b"; $"{n}-a"; $"{n}_c"; $"{n}9"; $"{n}.d" ]

        let clients = [
            for u in names ->
                let c = this.Connect u in
                c.Register(u, ServerFixture.Password)
                c
        ]

        for c in clients do
            Assert.That(c.Command $"/join {room}", Is.EqualTo $"OK JOIN {room}")

        let sorted =
            List.sortWith (fun (x: string) y -> System.String.CompareOrdinal(x, y)) names

        Assert.That(clients.Head.Command "/who", Is.EqualTo($"OK WHO {room} " + String.concat " " sorted))

    [<Test>]
    member this.``/users lists everyone online, sorted, once each; a user who quit is gone``() =
        let a, an = this.User "a"
        let _, bn = this.UserIn("b", this.Name "r")
        let q, qn = this.User "q"
        let users = Lines.items "USERS" (a.Command "/users")
        Assert.That(Lines.isOrdinalSorted users, String.concat " " users)
        Assert.That(users, Is.SupersetOf [ an; bn; qn ])
        q.Send "/quit"
        a.Expect $"SYS LEAVE lobby {qn}" |> ignore
        Assert.That(Lines.items "USERS" (a.Command "/users"), Does.Not.Contain qn)
