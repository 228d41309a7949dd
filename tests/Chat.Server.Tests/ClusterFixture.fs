namespace Chat.Server.Tests

open System
open System.Collections.Generic
open System.Threading
open NUnit.Framework
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

    let clients = List<TestClient>()
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
        let c = TestClient.Connect(node.Port, node.CertFile, $"{name}@{idPrefix}{i}")
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
        Assert.That(c.Command $"/join {room}", Is.EqualTo $"OK JOIN {room}", c.Describe())
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

    /// Closes the test's clients; on failure prints every node's output. Returns the received
    /// lines that are not chat/1 server lines.
    member _.EndTest(failed: bool) =
        let malformed = [
            for c in lock clients (fun () -> List.ofSeq clients) do
                for line in c.Received do
                    if (ServerLine.parse line).IsNone then
                        $"[{c.Name}] {line}"
        ]

        for c in lock clients (fun () -> List.ofSeq clients) do
            (c :> IDisposable).Dispose()

        lock clients (fun () -> clients.Clear())

        if failed then
            for i in 1..count do
                let lines = if debug then Int32.MaxValue else 80
                TestContext.Out.WriteLine($"--- output of {idPrefix}{i}:\n{nodes[i - 1].OutputText lines}")

        malformed

    interface IDisposable with
        member _.Dispose() =
            for c in lock clients (fun () -> List.ofSeq clients) do
                (c :> IDisposable).Dispose()

            for n in Array.rev nodes do
                (n :> IDisposable).Dispose()

/// One Redis and one cluster for the whole fixture; clients closed after each test.
[<AbstractClass>]
type ClusterFixture(flags: string list, count: int, idPrefix: string) =
    let mutable redis: RedisFixture option = None
    let mutable cluster: Cluster option = None

    member _.Redis =
        match redis with
        | Some r -> r
        | None -> failwith "redis is not running"

    member _.Cluster =
        match cluster with
        | Some c -> c
        | None -> failwith "the cluster is not running"

    [<OneTimeSetUp>]
    member _.StartCluster() =
        let r = new RedisFixture()
        redis <- Some r

        try
            cluster <- Some(new Cluster(r.Configuration, count, flags, idPrefix))
        with _ ->
            (r :> IDisposable).Dispose()
            redis <- None
            reraise ()

    [<TearDown>]
    member _.CloseClients() =
        match cluster with
        | Some c -> c.EndTest(ClusterTesting.failed ()) |> ClusterTesting.assertWellFormed
        | None -> ()

    [<OneTimeTearDown>]
    member _.StopCluster() =
        cluster |> Option.iter (fun c -> (c :> IDisposable).Dispose())
        redis |> Option.iter (fun r -> (r :> IDisposable).Dispose())
        cluster <- None
        redis <- None

/// Each test starts its own Redis and cluster (these tests kill them); all stopped after it.
[<AbstractClass>]
type ClusterPerTest() =
    let owned = Stack<IDisposable>()
    let clusters = List<Cluster>()

    member _.Own(d: #IDisposable) =
        owned.Push d
        d

    member this.NewRedis(?aofDir: string) =
        this.Own(
            match aofDir with
            | Some d -> new RedisFixture(d)
            | None -> new RedisFixture()
        )

    member this.NewCluster(redis: string, count: int, flags: string list, idPrefix: string) =
        let c = this.Own(new Cluster(redis, count, flags, idPrefix))
        clusters.Add c
        c

    [<TearDown>]
    member _.StopAll() =
        let malformed = [
            for c in clusters do
                yield! c.EndTest(ClusterTesting.failed ())
        ]

        clusters.Clear()

        while owned.Count > 0 do
            try
                owned.Pop().Dispose()
            with _ ->
                ()

        ClusterTesting.assertWellFormed malformed
