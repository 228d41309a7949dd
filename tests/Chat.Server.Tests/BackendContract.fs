namespace Chat.Server.Tests

open System
open System.Collections.Concurrent
open Expecto
open Chat.Testing
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

    /// What a login does with the port: claim, evict the session it replaced, enter the lobby.
    /// None when refused; else the evicted session's sid and rooms, if any.
    let login (b: IChatBackend) u s policy =
        match b.Claim(u, s, policy) with
        | AlreadyOnline -> None
        | Claimed evicted ->
            evicted |> Option.iter (fun e -> b.Evict(u, e))
            b.Enter(u, s)
            Some(evicted |> Option.map (fun e -> e.Sid, e.Rooms))

open Given

/// What a contract test works with: the backends it makes with `Backend` (through `create`, the
/// adapter under test), their bus events, and what it owns; all disposed when the test ends.
type ContractScope(create: int -> IChatBackend) =
    let events = ConcurrentQueue<BusEvent>()
    let owned = ResizeArray<IDisposable>()

    /// Bus events seen by backends made with `Backend`, in arrival order.
    member _.Events = List.ofSeq events
    member _.Record(event: BusEvent) = events.Enqueue event

    /// Disposed after the test, the latest first.
    member _.Own<'d when 'd :> IDisposable>(d: 'd) : 'd =
        owned.Add d
        d

    /// A fresh backend whose bus events are recorded.
    member this.Backend(?historyLimit: int) =
        let b = this.Own(create (defaultArg historyLimit 1000))
        b.Listen this.Record
        b

    member this.WaitForEvents (what: string) (condition: BusEvent list -> bool) =
        Poll.until within what (fun () -> condition this.Events)

    interface ITestScope with
        member _.EndTest() =
            for d in Seq.rev owned do
                d.Dispose()

            owned.Clear()
            events.Clear()
            []

        member _.Diagnostics() = ""

    interface IDisposable with
        member this.Dispose() =
            (this :> ITestScope).EndTest() |> ignore

/// The state port's contract: every adapter passes the same tests (MemoryBackendContract below,
/// RedisBackendContract in RedisBackendTests.fs).
module BackendContract =
    /// A fresh backend with ann logged in and moved to den: den's events come to it.
    let private annInDen (this: ContractScope) =
        let b = this.Backend()
        let ann, den = user "ann", room "den"
        let sid = newSid ()
        login b ann sid Reject |> ignore
        Expect.isTrue (b.Move(ann, sid, lobby, den)) "ann into den"
        b, ann, den

    /// The contract's tests, for any adapter (see `ContractScope`).
    let cases: Case<ContractScope> list = [
        case "accounts are created once and never overwritten"
        <| fun (this: ContractScope) ->
            let b = this.Backend()
            let alice = user "alice"
            Expect.isFalse (b.UserExists alice) "b.UserExists alice"
            Expect.equal (b.PasswordHash alice) None "b.PasswordHash alice"
            Expect.isTrue (b.CreateAccount(alice, "hash-1")) "b.CreateAccount(alice, 'hash-1')"
            Expect.isFalse (b.CreateAccount(alice, "hash-2")) "b.CreateAccount(alice, 'hash-2')"
            Expect.equal (b.PasswordHash alice) (Some "hash-1") "b.PasswordHash alice"
            Expect.isTrue (b.UserExists alice) "b.UserExists alice"

        case "reject policy refuses a second claim and leaves the first session alone"
        <| fun (this: ContractScope) ->
            let b = this.Backend()
            let alice, first, second = user "alice", newSid (), newSid ()
            Expect.equal (login b alice first Reject) (Some None) "login alice, first, Reject"
            Expect.equal (login b alice second Reject) None "login alice, second, Reject"
            Expect.equal (b.Release(alice, second, lobby)) None "b.Release(alice, second)"
            Expect.equal (b.Online()) ([ alice ]) "b.Online()"
            Expect.equal (b.Release(alice, first, lobby)) (Some lobby) "b.Release(alice, first)"
            Expect.isEmpty (b.Online()) "b.Online()"

        case "force-logout claim evicts the old session and returns its sid and room"
        <| fun (this: ContractScope) ->
            let b = this.Backend()
            let alice, first, second, den = user "alice", newSid (), newSid (), room "den"
            Expect.equal (login b alice first ForceLogout) (Some None) "login alice, first, ForceLogout"
            Expect.isTrue (b.Move(alice, first, lobby, den)) "b.Move(alice, first, lobby, den)"

            Expect.equal
                (login b alice second ForceLogout)
                (Some(Some(first, [ den ])))
                "login b alice second ForceLogout"

            Expect.isEmpty (b.Members den) "b.Members den"
            Expect.equal (b.Members lobby) ([ alice ]) "b.Members lobby"
            Expect.equal (b.Rooms()) ([ lobby, 1 ]) "b.Rooms()"
            Expect.equal (b.Online()) ([ alice ]) "b.Online()"

        case "release is fenced: a late release of an evicted session changes nothing"
        <| fun (this: ContractScope) ->
            let b = this.Backend()
            let alice, first, second = user "alice", newSid (), newSid ()
            login b alice first ForceLogout |> ignore
            login b alice second ForceLogout |> ignore
            Expect.equal (b.Release(alice, first, lobby)) None "b.Release(alice, first)"
            Expect.equal (b.Online()) ([ alice ]) "b.Online()"
            Expect.equal (b.Members lobby) ([ alice ]) "b.Members lobby"
            Expect.equal (b.Release(alice, second, lobby)) (Some lobby) "b.Release(alice, second)"
            Expect.equal (b.Release(alice, second, lobby)) None "b.Release(alice, second)"
            Expect.isEmpty (b.Online()) "b.Online()"
            Expect.isEmpty (b.Rooms()) "b.Rooms()"

        case "move is fenced by the session id"
        <| fun (this: ContractScope) ->
            let b = this.Backend()
            let alice, first, second, den = user "alice", newSid (), newSid (), room "den"
            login b alice first ForceLogout |> ignore
            login b alice second ForceLogout |> ignore
            Expect.isFalse (b.Move(alice, first, lobby, den)) "b.Move(alice, first, lobby, den)"
            Expect.isEmpty (b.Members den) "b.Members den"
            Expect.equal (b.Members lobby) ([ alice ]) "b.Members lobby"
            Expect.isTrue (b.Move(alice, second, lobby, den)) "b.Move(alice, second, lobby, den)"
            Expect.equal (b.Members den) ([ alice ]) "b.Members den"
            Expect.equal (b.Release(alice, second, den)) (Some den) "b.Release(alice, second)"

        case "rooms, members and online stay consistent through claims, moves and releases"
        <| fun (this: ContractScope) ->
            let b = this.Backend()

            let rooms () =
                b.Rooms() |> List.sortBy (fst >> RoomName.value)

            let online () =
                b.Online() |> List.sortBy Username.value

            let x, y = room "x", room "y"

            let (ann, annSid), (ben, benSid), (cat, catSid) =
                (user "ann", newSid ()), (user "ben", newSid ()), (user "cat", newSid ())

            for u, s in [ ann, annSid; ben, benSid; cat, catSid ] do
                Expect.equal (login b u s Reject) (Some None) "login u, s, Reject"

            Expect.isTrue
                (b.Move(ben, benSid, lobby, x) && b.Move(cat, catSid, lobby, x))
                "b.Move(ben, benSid, lobby, x) && b.Move(cat, catSid, lobby, x)"

            Expect.equal (rooms ()) ([ lobby, 1; x, 2 ]) "rooms ()"
            Expect.equal (b.Members x) ([ ben; cat ]) "b.Members x"
            Expect.equal (online ()) ([ ann; ben; cat ]) "online ()"
            Expect.equal (b.Release(ben, benSid, x)) (Some x) "b.Release(ben, benSid)"
            Expect.equal (rooms ()) ([ lobby, 1; x, 1 ]) "rooms ()"
            Expect.equal (b.Release(cat, catSid, x)) (Some x) "b.Release(cat, catSid)"
            Expect.isTrue (b.Move(ann, annSid, lobby, y)) "b.Move(ann, annSid, lobby, y)"
            Expect.equal (rooms ()) ([ y, 1 ]) "rooms ()"
            Expect.isEmpty (b.Members lobby) "b.Members lobby"
            Expect.equal (b.Release(ann, annSid, y)) (Some y) "b.Release(ann, annSid)"
            Expect.isEmpty (rooms ()) "rooms ()"
            Expect.isEmpty (online ()) "online ()"

        case "subscriptions are kept until unsubscribed"
        <| fun (this: ContractScope) ->
            let b = this.Backend()
            let ann, ben, cat = user "ann", user "ben", user "cat"
            b.Subscribe(ann, ben)
            b.Subscribe(ann, cat)
            b.Subscribe(ann, ben)

            Expect.equal
                (b.Subscriptions ann |> List.sortBy Username.value)
                ([ ben; cat ])
                "b.Subscriptions ann |> List.sortBy Username.value"

            Expect.isEmpty (b.Subscriptions ben) "b.Subscriptions ben"
            b.Unsubscribe(ann, ben)
            b.Unsubscribe(ann, user "nobody")
            Expect.equal (b.Subscriptions ann) ([ cat ]) "b.Subscriptions ann"

        case "say returns distinct ids and delivers Said to the listener in order"
        <| fun (this: ContractScope) ->
            let b, ann, den = annInDen this
            let texts = [ for i in 1..30 -> sprintf "hello %d\twith a tab, é and ✓" i ]
            let ids = texts |> List.map (fun t -> b.Say(den, ann, t, now ()).Result)
            Expect.hasLength (List.distinct ids) texts.Length "List.distinct ids"
            let expected = List.map2 (fun id t -> BusEvent.Said(den, id, ann, t)) ids texts

            let said () =
                this.Events
                |> List.filter (function
                    | BusEvent.Said _ -> true
                    | _ -> false)

            this.WaitForEvents "every Said" (fun _ -> (said ()).Length >= texts.Length)
            Expect.equal (said ()) expected "the Said events"

        case "messages said through a pipeline are sent by Flush, in order, between direct ones"
        <| fun (this: ContractScope) ->
            let b, ann, den = annInDen this
            let pipeline = b.Pipeline()
            let first = b.Say(den, ann, "before", now ()).Result
            let held = [ for i in 1..20 -> pipeline.Say(den, ann, $"held {i}", now ()) ]
            pipeline.Flush()
            let ids = held |> List.map _.Result
            let last = b.Say(den, ann, "after", now ()).Result
            // Flushing again, with nothing held, sends nothing.
            pipeline.Flush()

            let said () =
                this.Events
                |> List.choose (function
                    | BusEvent.Said(_, id, _, text) -> Some(id, text)
                    | _ -> None)

            this.WaitForEvents "every Said" (fun _ -> (said ()).Length >= 22)

            Expect.equal
                (said ())
                ([ first, "before" ]
                 @ List.mapi (fun i id -> id, $"held {i + 1}") ids
                 @ [ last, "after" ])
                "in the order said, each once"

        case "publish counts only online followers and names the followers as recipients"
        <| fun (this: ContractScope) ->
            let b = this.Backend()

            let pat, f1, f2, offline, stranger =
                user "pat", user "f1", user "f2", user "f3", user "stranger"

            for f in [ f1; f2; offline ] do
                b.Subscribe(f, pat)

            for u in [ f1; f2; stranger ] do
                login b u (newSid ()) Reject |> ignore

            let id1, n1 = b.Publish(pat, "news")
            Expect.equal n1 2 "n1"
            b.Unsubscribe(f2, pat)
            let id2, n2 = b.Publish(pat, "more news")
            Expect.equal (n2, id2 <> id1) (1, true) "(n2, id2 <> id1)"

            let published () =
                this.Events
                |> List.filter (function
                    | BusEvent.Published _ -> true
                    | _ -> false)

            this.WaitForEvents "both Published" (fun _ -> (published ()).Length >= 2)

            // The recipients are the followers when it was sent; each instance delivers to those of
            // them logged in there.
            match published () with
            | [ BusEvent.Published(i1, p1, "news", r1); BusEvent.Published(i2, p2, "more news", r2) ] ->
                Expect.equal (i1, p1, Set.ofList r1) (id1, pat, set [ f1; f2; offline ]) "(i1, p1, Set.ofList r1)"
                Expect.equal (i2, p2, Set.ofList r2) (id2, pat, set [ f1; offline ]) "(i2, p2, r2)"
            | other -> failtest (sprintf "unexpected events %A" other)

        case "history keeps the last messages up to the limit, oldest first"
        <| fun (this: ContractScope) ->
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

            Expect.equal (b.History(den, 100)) (List.skip 3 sent) "b.History(den, 100)"
            Expect.equal (b.History(den, 2)) (List.skip 6 sent) "b.History(den, 2)"
            Expect.isEmpty (b.History(room "elsewhere", 10)) "b.History(room 'elsewhere', 10)"

        case "failed logins are counted per user and per address"
        <| fun (this: ContractScope) ->
            let b = this.Backend()
            let ann, ben = user "ann", user "ben"
            Expect.equal (b.FailedLogins(ann, "10.0.0.1")) (0, 0) "b.FailedLogins(ann, '10.0.0.1')"

            for _ in 1..3 do
                b.RecordFailedLogin(ann, "10.0.0.1")

            for _ in 1..2 do
                b.RecordFailedLogin(ben, "10.0.0.1")

            b.RecordFailedLogin(ann, "::1")
            Expect.equal (b.FailedLogins(ann, "10.0.0.1")) (4, 5) "b.FailedLogins(ann, '10.0.0.1')"
            Expect.equal (b.FailedLogins(ben, "::1")) (2, 1) "b.FailedLogins(ben, '::1')"
            Expect.equal (b.FailedLogins(user "cat", "10.0.0.2")) (0, 0) "b.FailedLogins(user 'cat', '10.0.0.2')"

        case "accounts created are counted per address, apart from failed logins"
        <| fun (this: ContractScope) ->
            let b = this.Backend()
            Expect.equal (b.Registrations "10.0.0.7") 0 "none yet"

            for _ in 1..3 do
                b.RecordRegistration "10.0.0.7"

            b.RecordRegistration "::7"
            b.RecordFailedLogin(user "ann", "10.0.0.7")
            Expect.equal (b.Registrations "10.0.0.7") 3 "b.Registrations '10.0.0.7'"
            Expect.equal (b.Registrations "::7") 1 "b.Registrations '::7'"
            Expect.equal (b.FailedLogins(user "ann", "10.0.0.7")) (1, 1) "failed logins apart"

        case "history pages by id: after and before, at the edges and for ids not in it"
        <| fun (this: ContractScope) ->
            let b = this.Backend(historyLimit = 50)
            let ann, den = user "ann", room "den"
            let ids = [ for i in 1..10 -> b.Say(den, ann, string i, now ()).Result ]
            let texts (es: HistoryEntry list) = es |> List.map (fun e -> int e.Text)
            Expect.equal (texts (b.HistoryAfter(den, ids[2], 3))) [ 4; 5; 6 ] "after the 3rd, 3"
            Expect.equal (texts (b.HistoryAfter(den, ids[7], 20))) [ 9; 10 ] "after the 8th: to the end"
            Expect.isEmpty (b.HistoryAfter(den, ids[9], 20)) "after the last: nothing"
            Expect.equal (texts (b.HistoryBefore(den, ids[5], 3))) [ 3; 4; 5 ] "before the 6th, 3, oldest first"
            Expect.equal (texts (b.HistoryBefore(den, ids[1], 20))) [ 1 ] "before the 2nd: the first"
            Expect.isEmpty (b.HistoryBefore(den, ids[0], 20)) "before the first: nothing"
            let zero = MsgId.tryCreate "0-0" |> Option.get
            Expect.equal (texts (b.HistoryAfter(den, zero, 2))) [ 1; 2 ] "after an id before all of them"
            let far = MsgId.tryCreate "99999999999999-0" |> Option.get
            Expect.equal (texts (b.HistoryBefore(den, far, 2))) [ 9; 10 ] "before an id after all of them"

            Expect.equal
                (b.HistoryAfter(den, ids[0], 20) |> List.map _.Id)
                (List.tail ids)
                "the ids are the ids Say returned, in order"

        case "tokens are the user's until they expire or are revoked"
        <| fun (this: ContractScope) ->
            let b = this.Backend()
            let ann, ben = user "ann", user "ben"
            Expect.isFalse (b.TokenValid(ann, "h1")) "unknown"
            b.StoreToken(ann, "h1", TimeSpan.FromMinutes 5.0)
            Expect.isTrue (b.TokenValid(ann, "h1")) "stored"
            Expect.isFalse (b.TokenValid(ben, "h1")) "another user's"
            b.RevokeToken(ann, "h1")
            Expect.isFalse (b.TokenValid(ann, "h1")) "revoked"
            b.StoreToken(ann, "h2", TimeSpan.FromMilliseconds 300.0)
            Poll.until within "the short token to expire" (fun () -> not (b.TokenValid(ann, "h2")))

        case "a direct message to an offline user waits for its inbox, then comes once, oldest first"
        <| fun (this: ContractScope) ->
            let b = this.Backend()
            let ann, bob, bobSid = user "ann", user "bob", newSid ()
            let ids = [ for t in [ "one"; "two"; "three" ] -> b.SendDirect(ann, bob, t, now ()) ]
            Expect.hasLength (List.distinct ids) 3 "distinct ids"

            let directs () =
                this.Events
                |> List.choose (function
                    | BusEvent.Direct(id, f, r, t) -> Some(id, f, r, t)
                    | _ -> None)

            Expect.isEmpty (directs ()) "nothing before the inbox is open"
            login b bob bobSid Reject |> ignore
            b.OpenInbox(bob, bobSid)
            this.WaitForEvents "the three" (fun _ -> (directs ()).Length >= 3)
            let four = b.SendDirect(ann, bob, "four", now ())
            this.WaitForEvents "the fourth, live" (fun _ -> (directs ()).Length >= 4)

            Expect.equal
                (directs ())
                (List.map2 (fun id t -> id, ann, bob, t) (ids @ [ four ]) [ "one"; "two"; "three"; "four" ])
                "in order, once"

            Expect.equal (b.Release(bob, bobSid, lobby)) (Some lobby) "bob leaves"
            let five = b.SendDirect(ann, bob, "five", now ())
            let again = newSid ()
            login b bob again Reject |> ignore
            b.OpenInbox(bob, again)
            this.WaitForEvents "the fifth at the next login" (fun _ -> (directs ()).Length >= 5)
            Expect.equal (directs () |> List.skip 4) [ five, ann, bob, "five" ] "only what came while away"

        case "logins, moves and releases reach the listener as each room's events, in the room's order"
        <| fun (this: ContractScope) ->
            let b = this.Backend()
            let ann, sid, den = user "ann", newSid (), room "den"
            login b ann sid ForceLogout |> ignore
            Expect.isTrue (b.Move(ann, sid, lobby, den)) "b.Move(ann, sid, lobby, den)"
            Expect.equal (b.Release(ann, sid, den)) (Some den) "b.Release(ann, sid, den)"

            let inRoom r =
                this.Events
                |> List.filter (function
                    | BusEvent.Entered(_, _, x)
                    | BusEvent.Left(_, _, x) -> x = r
                    | _ -> false)

            this.WaitForEvents "two events in each room" (fun _ ->
                (inRoom lobby).Length >= 2 && (inRoom den).Length >= 2)

            Expect.equal (inRoom lobby) [ BusEvent.Entered(ann, sid, lobby); BusEvent.Left(ann, sid, lobby) ] "lobby"
            Expect.equal (inRoom den) [ BusEvent.Entered(ann, sid, den); BusEvent.Left(ann, sid, den) ] "den"

        case "a login that replaces a session kicks it and takes it out of its rooms"
        <| fun (this: ContractScope) ->
            let b = this.Backend()
            let ann, first, second = user "ann", newSid (), newSid ()
            login b ann first ForceLogout |> ignore
            login b ann second ForceLogout |> ignore

            this.WaitForEvents "the kick and the second entry" (fun es ->
                List.contains (BusEvent.Kicked(ann, first)) es
                && List.contains (BusEvent.Entered(ann, second, lobby)) es)

            let lobbyEvents =
                this.Events
                |> List.filter (function
                    | BusEvent.Entered _
                    | BusEvent.Left _ -> true
                    | _ -> false)

            Expect.equal
                lobbyEvents
                [
                    BusEvent.Entered(ann, first, lobby)
                    BusEvent.Left(ann, first, lobby)
                    BusEvent.Entered(ann, second, lobby)
                ]
                "the lobby's events"
    ]


/// The contract on the in-memory adapter: nothing shared, so in parallel.
module MemoryBackendContract =
    [<Tests>]
    let tests =
        Harness.perTest
            "MemoryBackendContract"
            true
            (fun () -> new ContractScope(fun historyLimit -> new MemoryBackend(historyLimit, now)))
            BackendContract.cases
