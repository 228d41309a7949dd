namespace Chat.Server.Tests

open NUnit.Framework

/// /subscribe, /unsubscribe, /subs, /publish, and per-publisher order (PROTOCOL.md "After login",
/// "Guarantees").
[<TestFixture>]
type E2ePubSub() =
    inherit ServerFixture([ "--msg-rate"; "0" ])

    /// A registered account that is not online.
    member this.Offline(prefix: string) =
        let c, name = this.User prefix
        Assert.That(c.Command "/quit", Is.EqualTo "OK QUIT")
        c.WaitClosed()
        name

    [<Test>]
    member this.``/subscribe: NO_SUCH_USER for an unknown user, BAD_ARGUMENT for myself or no name``() =
        let a, an = this.User "a"
        Assert.That(a.Command "/subscribe nobody-at-all", Does.StartWith "ERR NO_SUCH_USER ")

        for line in
            [
                $"/subscribe {an}"
                $"/subscribe {an.ToUpperInvariant()}"
                "/subscribe"
                "/subscribe bad!name"
                "/subscribe x y"
            ] do
            Assert.That(a.Command line, Does.StartWith "ERR BAD_ARGUMENT ", line)

        Assert.That(a.Command "/subs", Is.EqualTo "OK SUBS")

    [<Test>]
    member this.``/subscribe to an offline user is OK, folded to lower case``() =
        let target = this.Offline "Off"
        let a, _ = this.User "a"

        Assert.That(
            a.Command $"/subscribe {target.ToUpperInvariant()}",
            Is.EqualTo $"OK SUBSCRIBE {target.ToLowerInvariant()}"
        )

        Assert.That(a.Command "/subs", Is.EqualTo $"OK SUBS {target.ToLowerInvariant()}")

    [<Test>]
    member this.``/subs is sorted; /unsubscribe removes, and is OK when not subscribed``() =
        let n = this.Name "t"
        let targets = [ for suffix in [ "b"; "-a"; "_c"; "9"; ".d" ] -> this.Offline(n + suffix) ]
        let a, _ = this.User "a"

        for t in targets do
            Assert.That(a.Command $"/subscribe {t}", Is.EqualTo $"OK SUBSCRIBE {t}")

        Assert.That(a.Command $"/subscribe {targets.Head}", Is.EqualTo $"OK SUBSCRIBE {targets.Head}", "again")

        let sorted =
            List.sortWith (fun (x: string) y -> System.String.CompareOrdinal(x, y)) targets

        Assert.That(a.Command "/subs", Is.EqualTo("OK SUBS " + String.concat " " sorted))
        Assert.That(a.Command $"/unsubscribe {targets.Head}", Is.EqualTo $"OK UNSUBSCRIBE {targets.Head}")
        Assert.That(a.Command $"/unsubscribe {targets.Head}", Is.EqualTo $"OK UNSUBSCRIBE {targets.Head}", "again")
        Assert.That(Lines.items "SUBS" (a.Command "/subs"), Is.EqualTo(box (List.filter ((<>) targets.Head) sorted)))
        Assert.That(a.Command "/unsubscribe", Does.StartWith "ERR BAD_ARGUMENT ")

    [<Test>]
    member this.``/publish: PUB with one id to online subscribers in any room; OK PUBLISH <id> <n>``() =
        let room = this.Name "pub"
        let p, pn = this.UserIn("p", room)
        let near, _ = this.UserIn("near", room)
        let far, _ = this.UserIn("far", this.Name "far")
        let bystander, _ = this.UserIn("by", room)
        let gone, goneName = this.UserIn("gone", room)

        for s in [ near; far; gone ] do
            Assert.That(s.Command $"/subscribe {pn}", Is.EqualTo $"OK SUBSCRIBE {pn}")

        gone.Send "/quit"
        p.Expect $"SYS LEAVE {room} {goneName}" |> ignore
        let id, n = Lines.published (p.Command "/publish big  news today")
        Assert.That(n, Is.EqualTo 2)

        for s in [ near; far ] do
            Assert.That(s.ExpectPrefix "PUB " |> Lines.pub, Is.EqualTo((id, pn, "big  news today")))

        let news (l: string) = l.Contains "news today"
        bystander.AssertNotReceived(news, "a publication it did not subscribe to")
        p.AssertNotReceived(news, "its own publication (it gets OK PUBLISH)")
        near.AssertNotReceived((fun l -> l.StartsWith "MSG " && news l), "a publication as a room message")

    [<Test>]
    member this.``/publish without subscribers is OK PUBLISH <id> 0; ids differ; no text is BAD_ARGUMENT``() =
        let p, _ = this.User "lonely"
        let id1, n1 = Lines.published (p.Command "/publish anyone?")
        let id2, n2 = Lines.published (p.Command "/publish anyone at all?")
        Assert.That((n1, n2), Is.EqualTo((0, 0)))
        Assert.That(id2, Is.Not.EqualTo id1)
        Assert.That(p.Command "/publish", Does.StartWith "ERR BAD_ARGUMENT ")
        Assert.That(p.Command "/publish    ", Does.StartWith "ERR BAD_ARGUMENT ")

    [<Test>]
    member this.``subscriptions outlive sessions, until /unsubscribe``() =
        let p, pn = this.User "p"
        let sn = this.Name "s"
        let s1 = this.Connect sn
        s1.Register(sn, ServerFixture.Password)
        Assert.That(s1.Command $"/subscribe {pn}", Is.EqualTo $"OK SUBSCRIBE {pn}")
        Assert.That(s1.Command "/quit", Is.EqualTo "OK QUIT")
        s1.WaitClosed()
        p.Expect $"SYS LEAVE lobby {sn}" |> ignore
        Assert.That(p.Command "/publish while away" |> Lines.published |> snd, Is.EqualTo 0)
        let s2 = this.Connect sn
        s2.Login(sn, ServerFixture.Password)
        Assert.That(s2.Command "/subs", Is.EqualTo $"OK SUBS {pn}")
        let id, n = Lines.published (p.Command "/publish welcome back")
        Assert.That(n, Is.EqualTo 1)
        Assert.That(s2.ExpectPrefix "PUB " |> Lines.pub, Is.EqualTo((id, pn, "welcome back")))
        Assert.That(s2.Received |> List.exists (fun l -> l.Contains "while away"), Is.False, "sent while offline")
        Assert.That(s2.Command $"/unsubscribe {pn}", Is.EqualTo $"OK UNSUBSCRIBE {pn}")
        Assert.That(p.Command "/publish after unsubscribe" |> Lines.published |> snd, Is.EqualTo 0)
        s2.AssertNotReceived((fun l -> l.Contains "after unsubscribe"), "a publication after /unsubscribe")

    [<Test>]
    member this.``per-publisher order: room messages and publications arrive in the order sent``() =
        let room = this.Name "order"
        let p, pn = this.UserIn("p", room)
        let sub, _ = this.UserIn("sub", room)
        let farSub, _ = this.User "farsub"
        let member', _ = this.UserIn("member", room)

        for s in [ sub; farSub ] do
            Assert.That(s.Command $"/subscribe {pn}", Is.EqualTo $"OK SUBSCRIBE {pn}")

        let sent = [
            for i in 1..200 do
                yield $"m{i}", $"m{i}"

                if i % 10 = 0 then
                    yield $"/publish p{i}", $"p{i}"
        ]

        for chunk in List.chunkBySize 25 sent do
            p.SendAll(List.map fst chunk)

        let expectAll (c: TestClient) (keep: string -> bool) =
            let wanted = sent |> List.map snd |> List.filter keep
            let last = List.last wanted

            c.ExpectMatch(
                (fun l -> (Lines.isMsgFrom pn l || Lines.isPubFrom pn l) && l.EndsWith $" {last}"),
                last,
                System.TimeSpan.FromSeconds 30.0
            )
            |> ignore

            let got =
                c.Received
                |> List.choose (fun l ->
                    if Lines.isMsgFrom pn l then
                        (let _, _, _, t = Lines.msg l in Some t)
                    elif Lines.isPubFrom pn l then
                        (let _, _, t = Lines.pub l in Some t)
                    else
                        None)

            Assert.That(got, Is.EqualTo(box wanted), c.Name)

        expectAll sub (fun _ -> true)
        expectAll farSub (fun t -> t.StartsWith "p")
        expectAll member' (fun t -> t.StartsWith "m")
        expectAll p (fun t -> t.StartsWith "m")
