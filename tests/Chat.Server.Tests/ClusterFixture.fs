namespace Chat.Server.Tests

open System
open System.Collections.Generic
open System.Threading
open Expecto
open Chat.Testing
open Chat.Domain

/// `count` server instances (`--redis <redis> --server-id <idPrefix><i>`) sharing one Redis, and
/// the clients a test opens on them. Nodes are numbered from 1.
type Cluster(redis: string, count: int, flags: string list, idPrefix: string) =
    static let password = "pass-word-123"
    // CLUSTER_TEST_DEBUG=1: servers log every bus event, and a failure prints their whole output.
    static let debug = Environment.GetEnvironmentVariable "CLUSTER_TEST_DEBUG" = "1"
    let verbose = if debug then [ "--log-level"; "debug" ] else []

    let nodes =
        ServerProcess.StartCluster(count, [ "--redis"; redis ] @ flags @ verbose, idPrefix)
        |> Array.ofList

    let clients = List<LineClient>()
    let mutable counter = 0

    static member Password = password
    member _.Nodes = List.ofArray nodes
    member _.Node(i: int) = nodes[i - 1]
    member _.Id(i: int) = idPrefix + string i

    /// A unique name (user or room): `<prefix><n>`.
    member _.Name(prefix: string) =
        $"{prefix}{Interlocked.Increment &counter}"

    /// A TLS client of node `i`, closed at the end of the test.
    member _.Connect(i: int, name: string) =
        let node = nodes[i - 1]
        let c = LineClient.Connect(node.Port, node.CertFile, $"{name}@{idPrefix}{i}")
        lock clients (fun () -> clients.Add c)
        c

    /// A new account registered (and so logged in, in the lobby) on node `i`.
    member this.User(i: int, prefix: string) =
        let name = this.Name prefix
        let c = this.Connect(i, name)
        c.Register(name, password)
        c, name

    /// A new account on node `i`, moved to `room`.
    member this.UserIn(i: int, prefix: string, room: string) =
        let c, name = this.User(i, prefix)
        Expect.equal (c.Command $"/join {room}") $"OK JOIN {room}" (c.Describe())
        c, name

    /// An existing account logged in on node `i`.
    member this.Login(i: int, name: string) =
        let c = this.Connect(i, name)
        c.Login(name, password)
        c

    /// How many lines containing `text` node `i` has logged.
    member _.LogCount(i: int, text: string) =
        nodes[i - 1].StdOut
        |> List.filter (fun l -> l.Contains(text: string))
        |> List.length

    /// Node `i` logged a line containing `text` (within `timeout`).
    member _.WaitLog(i: int, text: string, timeout: TimeSpan) =
        let node = nodes[i - 1]

        Poll.until timeout $"node {i} to log '{text}'" (fun () ->
            node.StdOut |> List.exists (fun l -> l.Contains(text: string)))

    /// Closes the test's clients. Returns the received lines that are not chat/1 server lines.
    member _.EndTest() =
        let all = lock clients (fun () -> List.ofSeq clients)

        let malformed = [
            for c in all do
                for line in c.Received do
                    if (ServerLine.parse line).IsNone then
                        $"[{c.Name}] {line}"
        ]

        for c in all do
            (c :> IDisposable).Dispose()

        lock clients (fun () -> clients.Clear())
        malformed

    /// Every node's last output lines (all of them with CLUSTER_TEST_DEBUG=1), for a failure message.
    member _.Diagnostics() =
        [
            for i in 1..count do
                let lines = if debug then Int32.MaxValue else 80
                $"--- output of {idPrefix}{i}:\n{nodes[i - 1].OutputText lines}"
        ]
        |> String.concat "\n"

    interface IDisposable with
        member _.Dispose() =
            for c in lock clients (fun () -> List.ofSeq clients) do
                (c :> IDisposable).Dispose()

            for n in Array.rev nodes do
                (n :> IDisposable).Dispose()

/// One Redis of the kind `topology` and one cluster for the tests of a list; clients closed after
/// each test.
type ClusterFixture(topology: TopologyKind, flags: string list, count: int, idPrefix: string) =
    let redis = RedisTopology.start topology

    let cluster =
        try
            new Cluster(redis.Configuration, count, flags, idPrefix)
        with _ ->
            (redis :> IDisposable).Dispose()
            reraise ()

    member _.Redis = redis
    member _.Cluster = cluster

    interface ITestScope with
        member _.EndTest() = cluster.EndTest()
        member _.Diagnostics() = cluster.Diagnostics()

    interface IDisposable with
        member _.Dispose() =
            (cluster :> IDisposable).Dispose()
            (redis :> IDisposable).Dispose()

/// Each test starts its own Redis and cluster (these tests kill them); all stopped after it.
/// `NewTopology` starts a Redis of the kind `topology`; `NewRedis` always one redis-server.
type ClusterPerTest(topology: TopologyKind) =
    let owned = Stack<IDisposable>()
    let clusters = List<Cluster>()

    new() = new ClusterPerTest(TopologyKind.Single)

    member _.Kind = topology

    member _.Own(d: #IDisposable) =
        owned.Push d
        d

    member this.NewTopology() = this.Own(RedisTopology.start topology)

    member this.NewRedis(?aofDir: string) =
        this.Own(
            match aofDir with
            | Some d -> new RedisServer(d)
            | None -> new RedisServer()
        )

    member this.NewCluster(redis: string, count: int, flags: string list, idPrefix: string) =
        let c = this.Own(new Cluster(redis, count, flags, idPrefix))
        clusters.Add c
        c

    interface ITestScope with
        member _.EndTest() = [
            for c in clusters do
                yield! c.EndTest()
        ]

        member _.Diagnostics() =
            clusters |> Seq.map _.Diagnostics() |> String.concat "\n"

    interface IDisposable with
        member _.Dispose() =
            clusters.Clear()

            while owned.Count > 0 do
                try
                    owned.Pop().Dispose()
                with _ ->
                    ()

module ClusterSuite =
    /// The kinds of Redis the suites that run on each are run on: CHAT_TEST_TOPOLOGIES (names,
    /// comma-separated: `single,cluster,sentinel`), all three when unset.
    let topologies =
        match Environment.GetEnvironmentVariable "CHAT_TEST_TOPOLOGIES" with
        | null
        | "" -> TopologyKind.All
        | names ->
            let wanted =
                names.Split(',', StringSplitOptions.TrimEntries ||| StringSplitOptions.RemoveEmptyEntries)

            TopologyKind.All |> List.filter (fun k -> Array.contains k.Name wanted)

    // Lists side by side under no common label: the tests are named `name[kind].<case>`.
    let unlabelled (lists: Test list) = Test.TestList(lists, FocusState.Normal)

    /// `name[kind]`: the name of a suite's list on one kind of Redis.
    let nameOn (name: string) (kind: TopologyKind) = $"{name}[{kind.Name}]"

    /// The tests of `cases` in sequence, on one redis-server and one cluster of `count` instances
    /// (`--server-id <idPrefix><i>`, `flags`) started for them all.
    let tests (name: string) (flags: string list, count: int, idPrefix: string) (cases: Case<ClusterFixture> list) =
        Harness.shared name (fun () -> new ClusterFixture(TopologyKind.Single, flags, count, idPrefix)) cases

    /// The tests of `tests`, once per kind of Redis in `topologies`: lists `name[kind]`, each on a
    /// Redis of its kind and a cluster of its own.
    let onEachTopology
        (name: string)
        (flags: string list, count: int, idPrefix: string)
        (cases: Case<ClusterFixture> list)
        =
        unlabelled [
            for kind in topologies ->
                Harness.shared (nameOn name kind) (fun () -> new ClusterFixture(kind, flags, count, idPrefix)) cases
        ]

    /// The tests of `cases` in sequence, each starting the Redis and clusters it needs.
    let perTest (name: string) (cases: Case<ClusterPerTest> list) =
        Harness.perTest name false (fun () -> new ClusterPerTest()) cases

    /// `perTest` once per kind of Redis in `kinds` (`NewTopology` starts one of that kind): lists
    /// `name[kind]`.
    let perTestOn (kinds: TopologyKind list) (name: string) (cases: Case<ClusterPerTest> list) =
        unlabelled [
            for kind in kinds -> Harness.perTest (nameOn name kind) false (fun () -> new ClusterPerTest(kind)) cases
        ]

    /// `perTest` once per kind of Redis in `topologies`.
    let perTestOnEach (name: string) (cases: Case<ClusterPerTest> list) = perTestOn topologies name cases
