namespace Chat.Server.Tests

open System
open System.Collections.Concurrent
open NUnit.Framework
open Chat.Domain
open Chat.Server

module internal Given =
    let user s = Username.tryCreate s |> Option.get
    let room s = RoomName.tryCreate s |> Option.get

    let newSid () =
        SessionId.tryCreate (Guid.NewGuid().ToString "N") |> Option.get

    let now () =
        DateTimeOffset.UtcNow.ToUnixTimeMilliseconds()

    let within = TimeSpan.FromSeconds 10.0
    let lobby = RoomName.lobby
    /// Is.EqualTo without NUnit 4's overload ambiguity for F# values (lists compare element-wise).
    let eq (expected: 'a) = Is.EqualTo(box expected)

open Given

/// The state port's contract: every adapter passes the same tests (see the subclasses below).
[<AbstractClass>]
type BackendContract() =
    let events = ConcurrentQueue<BusEvent>()
    let owned = ResizeArray<IDisposable>()

    abstract Create: historyLimit: int -> IChatBackend

    /// Bus events seen by backends made with `Backend`, in arrival order.
    member _.Events = List.ofSeq events
    member _.Record(event: BusEvent) = events.Enqueue event

    /// Disposed after the test, the latest first.
    member _.Own<'d when 'd :> IDisposable>(d: 'd) : 'd =
        owned.Add d
        d

    /// A fresh backend whose bus events are recorded.
    member this.Backend(?historyLimit: int) =
        let b = this.Own(this.Create(defaultArg historyLimit 1000))
        b.Listen this.Record
        b

    member this.WaitForEvents (what: string) (condition: BusEvent list -> bool) =
        Poll.until within what (fun () -> condition this.Events)

    [<TearDown>]
    member _.DisposeOwned() =
        for d in Seq.rev owned do
            d.Dispose()

        owned.Clear()
        events.Clear()

    [<Test>]
    member this.``accounts are created once and never overwritten``() =
        let b = this.Backend()
        let alice = user "alice"
        Assert.That(b.UserExists alice, Is.False)
        Assert.That(b.PasswordHash alice, eq None)
        Assert.That(b.CreateAccount(alice, "hash-1"), Is.True)
        Assert.That(b.CreateAccount(alice, "hash-2"), Is.False)
        Assert.That(b.PasswordHash alice, eq (Some "hash-1"))
        Assert.That(b.UserExists alice, Is.True)

    [<Test>]
    member this.``reject policy refuses a second claim and leaves the first session alone``() =
        let b = this.Backend()
        let alice, first, second = user "alice", newSid (), newSid ()
        Assert.That(b.Claim(alice, first, Reject), eq (Claimed None))
        Assert.That(b.Claim(alice, second, Reject), eq AlreadyOnline)
        Assert.That(b.Release(alice, second), eq None)
        Assert.That(b.Online(), eq [ alice ])
        Assert.That(b.Release(alice, first), eq (Some lobby))
        Assert.That(b.Online(), Is.Empty)

    [<Test>]
    member this.``force-logout claim evicts the old session and returns its sid and room``() =
        let b = this.Backend()
        let alice, first, second, den = user "alice", newSid (), newSid (), room "den"
        Assert.That(b.Claim(alice, first, ForceLogout), eq (Claimed None))
        Assert.That(b.Move(alice, first, lobby, den), Is.True)
        Assert.That(b.Claim(alice, second, ForceLogout), eq (Claimed(Some(first, den))))
        Assert.That(b.Members den, Is.Empty)
        Assert.That(b.Members lobby, eq [ alice ])
        Assert.That(b.Rooms(), eq [ lobby, 1 ])
        Assert.That(b.Online(), eq [ alice ])

    [<Test>]
    member this.``release is fenced: a late release of an evicted session changes nothing``() =
        let b = this.Backend()
        let alice, first, second = user "alice", newSid (), newSid ()
        b.Claim(alice, first, ForceLogout) |> ignore
        b.Claim(alice, second, ForceLogout) |> ignore
        Assert.That(b.Release(alice, first), eq None)
        Assert.That(b.Online(), eq [ alice ])
        Assert.That(b.Members lobby, eq [ alice ])
        Assert.That(b.Release(alice, second), eq (Some lobby))
        Assert.That(b.Release(alice, second), eq None)
        Assert.That(b.Online(), Is.Empty)
        Assert.That(b.Rooms(), Is.Empty)

    [<Test>]
    member this.``move is fenced by the session id``() =
        let b = this.Backend()
        let alice, first, second, den = user "alice", newSid (), newSid (), room "den"
        b.Claim(alice, first, ForceLogout) |> ignore
        b.Claim(alice, second, ForceLogout) |> ignore
        Assert.That(b.Move(alice, first, lobby, den), Is.False)
        Assert.That(b.Members den, Is.Empty)
        Assert.That(b.Members lobby, eq [ alice ])
        Assert.That(b.Move(alice, second, lobby, den), Is.True)
        Assert.That(b.Members den, eq [ alice ])
        Assert.That(b.Release(alice, second), eq (Some den))

    [<Test>]
    member this.``rooms, members and online stay consistent through claims, moves and releases``() =
        let b = this.Backend()

        let rooms () =
            b.Rooms() |> List.sortBy (fst >> RoomName.value)

        let online () =
            b.Online() |> List.sortBy Username.value

        let x, y = room "x", room "y"

        let (ann, annSid), (ben, benSid), (cat, catSid) =
            (user "ann", newSid ()), (user "ben", newSid ()), (user "cat", newSid ())

        for u, s in [ ann, annSid; ben, benSid; cat, catSid ] do
            Assert.That(b.Claim(u, s, Reject), eq (Claimed None))

        Assert.That(b.Move(ben, benSid, lobby, x) && b.Move(cat, catSid, lobby, x), Is.True)
        Assert.That(rooms (), eq [ lobby, 1; x, 2 ])
        Assert.That(b.Members x, eq [ ben; cat ])
        Assert.That(online (), eq [ ann; ben; cat ])
        Assert.That(b.Release(ben, benSid), eq (Some x))
        Assert.That(rooms (), eq [ lobby, 1; x, 1 ])
        Assert.That(b.Release(cat, catSid), eq (Some x))
        Assert.That(b.Move(ann, annSid, lobby, y), Is.True)
        Assert.That(rooms (), eq [ y, 1 ])
        Assert.That(b.Members lobby, Is.Empty)
        Assert.That(b.Release(ann, annSid), eq (Some y))
        Assert.That(rooms (), Is.Empty)
        Assert.That(online (), Is.Empty)

    [<Test>]
    member this.``subscriptions are kept until unsubscribed``() =
        let b = this.Backend()
        let ann, ben, cat = user "ann", user "ben", user "cat"
        b.Subscribe(ann, ben)
        b.Subscribe(ann, cat)
        b.Subscribe(ann, ben)
        Assert.That(b.Subscriptions ann |> List.sortBy Username.value, eq [ ben; cat ])
        Assert.That(b.Subscriptions ben, Is.Empty)
        b.Unsubscribe(ann, ben)
        b.Unsubscribe(ann, user "nobody")
        Assert.That(b.Subscriptions ann, eq [ cat ])

    [<Test>]
    member this.``say returns distinct ids and delivers Said to the listener in order``() =
        let b = this.Backend()
        let ann, den = user "ann", room "den"
        let texts = [ for i in 1..30 -> sprintf "hello %d\twith a tab, é and ✓" i ]
        let ids = texts |> List.map (fun t -> b.Say(den, ann, t, now ()).Result)
        Assert.That(List.distinct ids, Has.Length.EqualTo texts.Length)
        let expected = List.map2 (fun id t -> BusEvent.Said(den, id, ann, t)) ids texts
        this.WaitForEvents "every Said" (fun es -> es.Length >= texts.Length)
        Assert.That(this.Events, eq expected)

    [<Test>]
    member this.``publish counts only online followers and names them as recipients``() =
        let b = this.Backend()

        let pat, f1, f2, offline, stranger =
            user "pat", user "f1", user "f2", user "f3", user "stranger"

        for f in [ f1; f2; offline ] do
            b.Subscribe(f, pat)

        for u in [ f1; f2; stranger ] do
            b.Claim(u, newSid (), Reject) |> ignore

        let id1, n1 = b.Publish(pat, "news")
        Assert.That(n1, eq 2)
        b.Unsubscribe(f2, pat)
        let id2, n2 = b.Publish(pat, "more news")
        Assert.That((n2, id2 <> id1), eq ((1, true)))
        this.WaitForEvents "both Published" (fun es -> es.Length >= 2)

        match this.Events with
        | [ BusEvent.Published(i1, p1, "news", r1); BusEvent.Published(i2, p2, "more news", r2) ] ->
            Assert.That((i1, p1, Set.ofList r1), eq ((id1, pat, set [ f1; f2 ])))
            Assert.That((i2, p2, r2), eq ((id2, pat, [ f1 ])))
        | other -> Assert.Fail(sprintf "unexpected events %A" other)

    [<Test>]
    member this.``history keeps the last messages up to the limit, oldest first``() =
        let b = this.Backend(historyLimit = 5)
        let ann, den = user "ann", room "den"

        let sent = [
            for i in 1..8 ->
                let text = sprintf "message %d" i
                let ms = 1_700_000_000_000L + int64 i

                {
                    Id = b.Say(den, ann, text, ms).Result
                    From = ann
                    UnixMs = ms
                    Text = text
                }
        ]

        Assert.That(b.History(den, 100), eq (List.skip 3 sent))
        Assert.That(b.History(den, 2), eq (List.skip 6 sent))
        Assert.That(b.History(room "elsewhere", 10), Is.Empty)

    [<Test>]
    member this.``failed logins are counted per user and per address``() =
        let b = this.Backend()
        let ann, ben = user "ann", user "ben"
        Assert.That(b.FailedLogins(ann, "10.0.0.1"), eq ((0, 0)))

        for _ in 1..3 do
            b.RecordFailedLogin(ann, "10.0.0.1")

        for _ in 1..2 do
            b.RecordFailedLogin(ben, "10.0.0.1")

        b.RecordFailedLogin(ann, "::1")
        Assert.That(b.FailedLogins(ann, "10.0.0.1"), eq ((4, 5)))
        Assert.That(b.FailedLogins(ben, "::1"), eq ((2, 1)))
        Assert.That(b.FailedLogins(user "cat", "10.0.0.2"), eq ((0, 0)))

    [<Test>]
    member this.``announced events reach the listener in order``() =
        let b = this.Backend()
        let ann, sid, den = user "ann", newSid (), room "den"

        let sent = [
            BusEvent.Entered(ann, sid, lobby)
            BusEvent.Moved(ann, sid, lobby, den)
            BusEvent.Exited(ann, sid, den)
            BusEvent.Kicked(ann, sid)
        ]

        for e in sent do
            b.Announce e

        this.WaitForEvents "every announced event" (fun es -> es.Length >= sent.Length)
        Assert.That(this.Events, eq sent)

[<TestFixture>]
type MemoryBackendContract() =
    inherit BackendContract()
    override _.Create historyLimit = new MemoryBackend(historyLimit, now)
