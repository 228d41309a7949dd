namespace Chat.Server.Tests

open System
open System.Diagnostics
open System.IO
open Expecto
open Chat.Testing
open ClusterTesting

/// Redis going away, stalling, dropping the bus link, or restarting, while clients on two
/// instances talk (PROTOCOL.md "Guarantees": connections stay open, `ERR UNAVAILABLE`, service
/// resumes by itself).
module ClusterOutages =
    let private flags = [ "--msg-rate"; "0" ]

    /// Every message a got back (MSG) reached b too, and b saw a's messages in order, once.
    let private assertDelivered (tag: string) (a: LineClient, an: string) (b: LineClient) (echoed: int list) =
        a.Sync()
        b.Sync()

        // b's copies come through the bus, which may still be reading a gap back from the log
        // after an outage (retried every second): wait for them, then check.
        let arrived () =
            let atB = numbered b an tag
            echoed |> List.forall (fun k -> List.contains k atB)

        try
            Poll.until (TimeSpan.FromSeconds 15.0) $"{an}'s messages at {b.Name}" arrived
        with :? TimeoutException ->
            ()

        let atA = numbered a an tag
        let atB = numbered b an tag
        assertIncreasing $"{a.Name}'s own messages" atA
        assertIncreasing $"{b.Name}: {an}'s messages" atB

        for k in echoed do
            Expect.contains atB k $"{tag}-{k} came back to its sender but not to {b.Name}"

    /// A Redis that keeps what it is told (append-only file in a directory of the test's own).
    let private persistentRedis (this: ClusterPerTest) =
        let dir = Directory.CreateTempSubdirectory("chat-aof-").FullName

        this.Own(
            {
                new IDisposable with
                    member _.Dispose() = Directory.Delete(dir, true)
            }
        )
        |> ignore

        this.NewRedis dir

    [<Tests>]
    let tests =
        ClusterSuite.perTest "ClusterOutages" [
            case "redis-server killed: connections stay, ERR UNAVAILABLE at once, service and sessions come back"
            <| fun (this: ClusterPerTest) ->
                let redis = this.NewRedis()
                let c = this.NewCluster(redis.Configuration, 2, flags, "down")
                let room = c.Name "room"
                let a, an = c.UserIn(1, "a", room)
                let b, bn = c.UserIn(2, "b", room)
                let echoed = ResizeArray<int>()
                let sent = ref 0

                let talk () =
                    sent.Value <- sent.Value + 1

                    if say a an "m" sent.Value (TimeSpan.FromSeconds 10.0) then
                        echoed.Add sent.Value

                for _ in 1..10 do
                    talk ()

                Expect.hasLength echoed 10 "echoed"
                redis.Kill()

                for client in [ a; b ] do
                    for command in
                        [
                            "/users"
                            "/rooms"
                            "/who"
                            "/join elsewhere"
                            "/publish anyone?"
                            "/subscribe x"
                        ] do
                        let clock = Stopwatch.StartNew()
                        let reply = client.Command(command, TimeSpan.FromSeconds 5.0)
                        Expect.stringStarts reply "ERR UNAVAILABLE " $"{command}\n{client.Describe()}"
                        Expect.isLessThan clock.Elapsed (TimeSpan.FromSeconds 3.0) command

                    Expect.equal (client.Command "/ping still") "OK PONG still" "client.Command '/ping still'"

                for _ in 1..5 do
                    talk ()

                redis.Restart()
                let took = waitService a an (TimeSpan.FromSeconds 15.0)
                printfn $"service back {took.TotalSeconds:F1} s after the restart"
                waitService b bn (TimeSpan.FromSeconds 15.0) |> ignore
                // Redis came back empty: each instance wrote its sessions back.
                waitUsers a (TimeSpan.FromSeconds 10.0) "both users listed again" (fun u -> u = List.sort [ an; bn ])

                Expect.equal
                    (Lines.items "WHO" (b.Command "/who"))
                    (room :: List.sort [ an; bn ])
                    "Lines.items 'WHO' (b.Command '/who')"

                for _ in 1..10 do
                    talk ()

                Expect.hasLength (echoed |> Seq.filter (fun n -> n > 15)) 10 (a.Describe())
                assertDelivered "m" (a, an) b (List.ofSeq echoed)
                Expect.isFalse (a.IsClosed || b.IsClosed) "no connection was dropped"

            case "DEBUG SLEEP 3: answers or ERR UNAVAILABLE, nobody disconnected"
            <| fun (this: ClusterPerTest) ->
                let redis = this.Own(new RedisServer())
                let c = this.NewCluster(redis.Configuration, 2, flags, "stall")
                let room = c.Name "room"
                let a, an = c.UserIn(1, "a", room)
                let b, bn = c.UserIn(2, "b", room)
                let echoed = ResizeArray<int>()
                let mutable k = 0
                let mutable slowOrRefused = 0
                let refused = ResizeArray<int>()
                let unsure = ResizeArray<int>()
                let sleeping = redis.DebugSleep 3

                while not sleeping.IsCompleted do
                    k <- k + 1
                    let clock = Stopwatch.StartNew()

                    match sayOutcome a an "s" k (TimeSpan.FromSeconds 8.0) with
                    | Said.Acked -> echoed.Add k
                    | outcome ->
                        refused.Add k

                        if outcome = Said.Unsure then
                            unsure.Add k

                        slowOrRefused <- slowOrRefused + 1

                    let reply = b.Command("/users", TimeSpan.FromSeconds 8.0)

                    Expect.isTrue
                        (reply.StartsWith "OK USERS" || reply.StartsWith "ERR UNAVAILABLE ")
                        $"/users during the stall: {reply}"

                    if clock.Elapsed > TimeSpan.FromSeconds 1.0 || reply.StartsWith "ERR" then
                        slowOrRefused <- slowOrRefused + 1

                    Expect.equal (b.Command "/ping") "OK PONG" "b.Command '/ping'"

                Expect.isGreaterThan slowOrRefused 0 "the stall was felt"
                waitService a an (TimeSpan.FromSeconds 15.0) |> ignore
                waitService b bn (TimeSpan.FromSeconds 15.0) |> ignore
                waitUsers a (TimeSpan.FromSeconds 10.0) "both users listed" (fun u -> u = List.sort [ an; bn ])

                for _ in 1..5 do
                    k <- k + 1

                    Expect.isTrue
                        (say a an "s" k (TimeSpan.FromSeconds 10.0))
                        "say a an 's' k (TimeSpan.FromSeconds 10.0)"

                    echoed.Add k

                assertDelivered "s" (a, an) b (List.ofSeq echoed)
                // A command that timed out waiting for the stalled Redis may still have run after it.
                let late =
                    refused
                    |> Seq.filter (fun n -> List.contains n (numbered b an "s"))
                    |> List.ofSeq

                printfn
                    $"answered ERR UNAVAILABLE: {List.ofSeq refused}; of these, may have been sent: {List.ofSeq unsure}; delivered anyway: {late}"

                for n in late do
                    Expect.contains unsure n $"s-{n} was delivered: its answer must have said it may have been sent"

                Expect.isFalse (a.IsClosed || b.IsClosed) "no connection was dropped"

            case "a persistent Redis restarted: accounts and subscriptions survive"
            <| fun (this: ClusterPerTest) ->
                let redis = persistentRedis this
                let c = this.NewCluster(redis.Configuration, 2, flags, "aof")
                let v, vn = c.User(2, "v")
                let keeper, kn = c.User(1, "keeper")
                let u, un = c.User(1, "u")
                Expect.equal (u.Command $"/subscribe {vn}") $"OK SUBSCRIBE {vn}" "u.Command $'/subscribe {vn}'"
                let before, _ = Lines.published (v.Command "/publish before")
                u.Expect $"PUB {before} {vn} before" |> ignore
                Expect.equal (u.Command "/quit") "OK QUIT" "u.Command '/quit'"
                waitUsers v (TimeSpan.FromSeconds 10.0) $"{un} offline" (List.contains un >> not)
                redis.Restart()
                waitService v vn (TimeSpan.FromSeconds 15.0) |> ignore
                waitService keeper kn (TimeSpan.FromSeconds 15.0) |> ignore
                let again = c.Login(1, un)
                Expect.equal (again.Command "/subs") $"OK SUBS {vn}" "again.Command '/subs'"
                let after, n = Lines.published (v.Command "/publish after")
                Expect.equal n 1 "n"
                Expect.notEqual after before "publication ids stay unique"
                again.Expect $"PUB {after} {vn} after" |> ignore
                let third = c.Connect(2, "third")

                Expect.stringStarts
                    (third.Command $"REGISTER {un} {Cluster.Password}")
                    "ERR USER_EXISTS "
                    "third.Command $'REGISTER {un} {Cluster.Password}'"

                Expect.isFalse (v.IsClosed || keeper.IsClosed) "no connection was dropped"

            case "a session that ends while Redis is away is released afterwards, with SYS LEAVE"
            <| fun (this: ClusterPerTest) ->
                let redis = persistentRedis this
                let c = this.NewCluster(redis.Configuration, 2, flags, "later")
                let v, vn = c.User(2, "v")
                let mate, mn = c.User(1, "mate")
                let w, wn = c.User(1, "w")

                for client in [ v; mate ] do
                    client.Expect $"SYS JOIN lobby {wn}" |> ignore

                redis.Stop()
                // w leaves while Redis is away: its release waits for Redis.
                w.Disconnect()
                c.WaitLog(1, "cleanup deferred", TimeSpan.FromSeconds 10.0)
                redis.Restart()
                waitService v vn (TimeSpan.FromSeconds 15.0) |> ignore
                waitService mate mn (TimeSpan.FromSeconds 15.0) |> ignore
                waitUsers v (TimeSpan.FromSeconds 10.0) $"{wn} gone from /users" (List.contains wn >> not)

                Expect.notContains
                    (Lines.items "WHO" (mate.Command "/who"))
                    wn
                    "Lines.items 'WHO' (mate.Command '/who')"

                for client in [ v; mate ] do
                    client.Expect($"SYS LEAVE lobby {wn}", TimeSpan.FromSeconds 5.0) |> ignore
        ]
