namespace Chat.Server.Tests

open System
open System.Diagnostics
open System.Threading
open System.Threading.Tasks
open Expecto
open Chat.Testing
open ClusterTesting

/// A client that says `<tag>-<k>` in its room, one line at a time, until stopped: each line
/// answered by its own MSG (acknowledged) or by ERR UNAVAILABLE (refused, after which it backs
/// off a little; unsure when the answer says it may have been sent: Redis died with it in flight). What was acknowledged is what the members must have received; when (on
/// `clock`, shared by the talkers of a test) tells when service came back.
type Talker(client: LineClient, user: string, tag: string, clock: Stopwatch) =
    let gate = obj ()
    let acked = ResizeArray<int * TimeSpan>()
    let unsure = ResizeArray<int>()
    let mutable refused = 0
    let mutable stop = false

    let loop =
        Task.Run(fun () ->
            let mutable k = 0

            while not (Volatile.Read &stop) do
                match sayOutcome client user tag k (TimeSpan.FromSeconds 15.0) with
                | Said.Acked -> lock gate (fun () -> acked.Add(k, clock.Elapsed))
                | outcome ->
                    if outcome = Said.Unsure then
                        lock gate (fun () -> unsure.Add k)

                    Interlocked.Increment &refused |> ignore
                    Thread.Sleep 100 // back-off: ERR UNAVAILABLE comes at once while Redis is away

                k <- k + 1)

    member _.Client = client
    member _.User = user
    member _.Refused = Volatile.Read &refused
    member _.Acked = lock gate (fun () -> List.ofSeq acked)

    /// The time (on the shared clock) of the first line acknowledged after `since`, if any.
    member this.AckedAfter(since: TimeSpan) =
        this.Acked |> List.tryPick (fun (_, t) -> if t > since then Some t else None)

    /// Stops after the line under way; rethrows what failed in the loop.
    member _.Stop() =
        Volatile.Write(&stop, true)
        loop.GetAwaiter().GetResult()

    /// The lines every member must have received from this talker: once each, in order.
    member this.Expected = [ for k, _ in this.Acked -> $"{tag}-{k}" ]

    /// The lines answered "may have been sent": received once or not at all.
    member _.Unsure = lock gate (fun () -> [ for k in unsure -> $"{tag}-{k}" ])

    /// Where a line of this talker's was said: its k.
    member _.Order(line: string) =
        int (line.Substring(line.LastIndexOf '-' + 1))

/// Faults of a real Redis topology while clients on two instances talk in two rooms: a Cluster
/// master killed (the one owning a room's slot), the Sentinel master killed, every node's Pub/Sub
/// connections cut. No client connection drops; every acknowledged line reaches every member of
/// its room once and in order; refused lines are ERR UNAVAILABLE and never delivered, unless the
/// answer said they may have been sent (then once at most, in place); service comes back by itself.
module ClusterTopologyFaults =
    /// Two rooms (the first `room`, the second one of `others`), each with a talker on node 1 and
    /// one on node 2.
    let private talk (c: Cluster) (room: string) (other: string) =
        let clock = Stopwatch.StartNew()

        let talkers = [
            for r in [ room; other ] do
                for node in [ 1; 2 ] do
                    let client, name = c.UserIn(node, "t", r)
                    r, client, name
        ]

        clock,
        [
            for r, client, name in talkers -> r, Talker(client, name, $"{name}-line", clock)
        ]

    let private waitAcked (talkers: (string * Talker) list) (n: int) (what: string) =
        Poll.until (TimeSpan.FromSeconds 20.0) what (fun () ->
            talkers |> List.forall (fun (_, t) -> t.Acked.Length >= n))

    /// Stops the talkers and checks what every member received, and that nobody was dropped.
    let private settle (talkers: (string * Talker) list) =
        for _, t in talkers do
            t.Stop()

        for room, t in talkers do
            for r, m in talkers do
                if r = room then
                    expectFromUnsure m.Client t.User t.Expected t.Unsure t.Order (TimeSpan.FromSeconds 20.0)

        for _, t in talkers do
            Expect.isFalse t.Client.IsClosed $"{t.Client.Name} still connected"

            printfn
                $"{t.User}: {t.Acked.Length} acknowledged, {t.Refused} refused ({t.Unsure.Length} of them maybe sent)"

    /// Talks, runs `fault` (which returns when Redis has recovered, on the talkers' clock), then
    /// waits until every talker got a fresh line through; returns how long after the recovery.
    let private through (clock: Stopwatch, talkers: (string * Talker) list) (fault: unit -> unit) =
        waitAcked talkers 5 "every talker heard before the fault"
        let started = clock.Elapsed
        fault ()
        let recovered = clock.Elapsed

        let back =
            Poll.untilSome (TimeSpan.FromSeconds 20.0) "a fresh line through for every talker" (fun () ->
                let fresh = talkers |> List.map (fun (_, t) -> t.AckedAfter recovered)

                if List.forall Option.isSome fresh then
                    Some(List.max (List.choose id fresh) - recovered)
                else
                    None)

        printfn $"every talker through again {(recovered + back - started).TotalSeconds:F1} s after the fault began"
        back

    let private flags = [ "--msg-rate"; "0" ]

    [<Tests>]
    let tests =
        ClusterSuite.unlabelled [
            ClusterSuite.perTestOn [ TopologyKind.Cluster ] "ClusterTopologyFaults" [
                case "kill -9 of the master owning a room's slot: nothing acknowledged lost, service back by itself"
                <| fun (this: ClusterPerTest) ->
                    let redis = this.NewTopology()

                    let cluster =
                        match redis with
                        | RedisTopology.Cluster c -> c
                        | other -> failtest $"not a cluster: {other.Kind}"

                    let c = this.NewCluster(redis.Configuration, 2, flags, "slotkill")
                    let room = c.Name "room"
                    let owner = cluster.OwnerOf $"chat:{{r:{room}}}:log"

                    let other =
                        Seq.initInfinite (fun _ -> c.Name "room")
                        |> Seq.find (fun r -> cluster.OwnerOf $"chat:{{r:{r}}}:log" <> owner)

                    let clock, talkers = talk c room other

                    let back =
                        through (clock, talkers) (fun () ->
                            let killed = cluster.KillMaster $"chat:{{r:{room}}}:log"
                            let took = cluster.WaitForFailover()

                            printfn
                                $"master {killed} of {room}'s slot killed; failover done after {took.TotalSeconds:F1} s")

                    printfn $"messages through again {back.TotalSeconds:F1} s after the failover"
                    settle talkers
            ]
            ClusterSuite.perTestOn [ TopologyKind.Sentinel ] "ClusterTopologyFaults" [
                case
                    "kill -9 of the Sentinel master: nothing acknowledged lost, service back within 10 s of the election"
                <| fun (this: ClusterPerTest) ->
                    let redis = this.NewTopology()

                    let group =
                        match redis with
                        | RedisTopology.Sentinel s -> s
                        | other -> failtest $"not a sentinel group: {other.Kind}"

                    let c = this.NewCluster(redis.Configuration, 2, flags, "mkill")
                    let clock, talkers = talk c (c.Name "room") (c.Name "room")

                    let back =
                        through (clock, talkers) (fun () ->
                            let killed = group.KillMaster()
                            let port, took = group.WaitForFailover()
                            printfn $"master {killed} killed; {port} elected after {took.TotalSeconds:F1} s")

                    printfn $"messages through again {back.TotalSeconds:F1} s after the election"
                    Expect.isLessThanOrEqual back (TimeSpan.FromSeconds 10.0) "service back within 10 s"
                    settle talkers
            ]
            ClusterSuite.perTestOnEach "ClusterTopologyFaults" [
                case "CLIENT KILL TYPE pubsub on every node while messages flow: nothing lost, nothing twice"
                <| fun (this: ClusterPerTest) ->
                    let redis = this.NewTopology()
                    let c = this.NewCluster(redis.Configuration, 2, flags, "subkill")
                    let _, talkers = talk c (c.Name "room") (c.Name "room")

                    for n in 1..3 do
                        waitAcked talkers (10 * n) $"every talker heard before cut {n}"
                        let linked = redis.PubSubClients()
                        let killed = redis.KillPubSubClients()
                        printfn $"cut {n}: {killed} Pub/Sub connections closed"
                        Expect.isGreaterThan killed 0 $"cut {n} closed the bus links"
                        // The next cut once they are all back (the clients resubscribe by themselves).
                        Poll.until (TimeSpan.FromSeconds 10.0) $"the Pub/Sub connections back after cut {n}" (fun () ->
                            redis.PubSubClients() >= linked)

                    waitAcked talkers 40 "every talker heard after the cuts"
                    settle talkers
            ]
        ]
