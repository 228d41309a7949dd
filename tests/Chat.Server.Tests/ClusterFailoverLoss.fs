namespace Chat.Server.Tests

open System
open System.Diagnostics
open System.Threading
open Expecto
open Chat.Domain
open Chat.Testing
open ClusterTesting

/// A Sentinel failover that loses acknowledged writes (replication is asynchronous): the replica
/// is held back, members on two instances say lines that come back acknowledged, the master dies
/// before they reach the replica, and the sentinels promote it without them.
module ClusterFailoverLoss =
    let private flags = [ "--msg-rate"; "0" ]
    /// Larger than the kernel's socket buffers between master and replica (loopback autotuning).
    let private filler = 48 * 1024 * 1024
    let private lines = 5

    /// The (id, text) of every MSG line this client received, in order.
    let private msgIds (c: LineClient) =
        c.Received
        |> List.filter (fun l -> l.StartsWith "MSG ")
        |> List.map (fun l ->
            let _, id, _, text = Lines.msg l

            match StreamPos.tryParse id with
            | Some p -> p, text
            | None -> failtest $"{c.Name}: the MSG id {id} is not a stream id")

    /// Says `<tag>-<k>`, `<tag>-<k+1>`, ... until one is acknowledged; returns its k.
    let private sayUntilAcked (c: LineClient) (user: string) (tag: string) (from: int) =
        let clock = Stopwatch.StartNew()

        let rec go k =
            if clock.Elapsed > TimeSpan.FromSeconds 30.0 then
                failtest $"{user}: nothing acknowledged within 30 s\n{c.Describe()}"
            elif say c user tag k (TimeSpan.FromSeconds 15.0) then
                k
            else
                Thread.Sleep 100 // back-off: ERR UNAVAILABLE comes at once while Redis is away
                go (k + 1)

        go from

    /// The new master's stream of `room`, as `id(p=prev) event` lines.
    let private stream (group: RedisSentinel) (room: string) =
        (group.Master.Command [ "XRANGE"; $"chat:{{r:{room}}}:log"; "-"; "+" ]).Split '\n'
        |> Array.chunkBySize 7
        |> Array.choose (function
            | [| id; "p"; prev; "e"; line; _; _ |] -> Some $"{id}(p={prev}) {line}"
            | _ -> None)
        |> List.ofArray

    let private show (p: StreamPos) = StreamPos.render p

    [<Tests>]
    let tests =
        ClusterSuite.perTestOn [ TopologyKind.Sentinel ] "ClusterFailoverLoss" [
            case
                "a failover that loses acknowledged lines: reported, nothing delivered twice, no id issued again, service back"
            <| fun (this: ClusterPerTest) ->
                let redis = this.NewTopology()

                let group =
                    match redis with
                    | RedisTopology.Sentinel s -> s
                    | other -> failtest $"not a sentinel group: {other.Kind}"

                let c = this.NewCluster(redis.Configuration, 2, flags, "loss")
                let room = c.Name "room"
                let members = [ for node in [ 1; 2 ] -> c.UserIn(node, "m", room) ]

                let sayAll (tag: string) =
                    for k in 0 .. lines - 1 do
                        for client, name in members do
                            Expect.isTrue (say client name $"{name}-{tag}" k (TimeSpan.FromSeconds 10.0)) $"{tag}-{k}"

                let texts (name: string) (tag: string) (ks: int list) = [ for k in ks -> $"{name}-{tag}-{k}" ]
                let first = [ 0 .. lines - 1 ]
                sayAll "kept"
                // Everything so far is on the replica: what goes missing is only what follows.
                Expect.equal (group.Master.Command [ "WAIT"; "1"; "5000" ]) "1" "the replica has the kept lines"
                group.HoldBackReplica filler
                sayAll "lost"

                for client, _ in members do
                    for _, name in members do
                        expectFrom
                            client
                            name
                            (texts name "kept" first @ texts name "lost" first)
                            (TimeSpan.FromSeconds 10.0)

                let before = [ for client, _ in members -> msgIds client |> List.map fst |> List.max ]
                let clock = Stopwatch.StartNew()
                let killed = group.KillMaster()
                group.ReleaseReplica()
                let port, took = group.WaitForFailover()
                let elected = clock.Elapsed

                let after = [
                    for client, name in members -> client, name, [ sayUntilAcked client name $"{name}-after" 0 ]
                ]

                let flowing = clock.Elapsed

                let after = [
                    for client, name, ks in after ->
                        name,
                        (ks, [ 1 .. lines - 1 ])
                        ||> List.fold (fun ks _ ->
                            ks @ [ sayUntilAcked client name $"{name}-after" (List.last ks + 1) ])
                ]

                let afterOf name =
                    after |> List.find (fst >> (=) name) |> snd

                for (client, _), last in List.zip members before do
                    for _, name in members do
                        expectFrom
                            client
                            name
                            (texts name "kept" first
                             @ texts name "lost" first
                             @ texts name "after" (afterOf name))
                            (TimeSpan.FromSeconds 20.0)

                    let ids = msgIds client |> List.map fst

                    match ids |> List.pairwise |> List.tryFind (fun (a, b) -> a >= b) with
                    | Some(a, b) -> failtest $"{client.Name}: MSG id {show b} after {show a}"
                    | None -> ()

                    let fresh = msgIds client |> List.filter (fun (_, t) -> t.Contains "-after-")
                    let lowest = fresh |> List.map fst |> List.min
                    Expect.isGreaterThan lowest last $"{client.Name}: ids after the failover above {show last}"
                    Expect.isFalse client.IsClosed $"{client.Name} still connected"
                    printfn $"{client.Name}: last id before {show last}, first after {show lowest}"

                let reader, _ = members.Head
                reader.Send "/history 100"
                let count = reader.ExpectPrefix("OK HISTORY", TimeSpan.FromSeconds 10.0)

                let kept =
                    reader.TakeAll(fun l -> l.StartsWith "HIST ")
                    |> List.map (fun l ->
                        let _, _, _, _, text = Lines.hist l
                        text)

                let lost =
                    members
                    |> List.collect (fun (_, name) -> texts name "lost" first)
                    |> List.filter (fun t -> not (List.contains t kept))

                let wanted =
                    members
                    |> List.collect (fun (_, name) -> texts name "kept" first @ texts name "after" (afterOf name))

                let log = stream group room |> String.concat "\n  "

                Expect.equal
                    (List.sort kept)
                    (List.sort wanted)
                    $"{count}: /history keeps the lines before the hold and after the failover, none of the others; the new master's stream:\n  {log}"

                for i in 1..2 do
                    c.WaitLog(i, "was delivered", TimeSpan.FromSeconds 10.0)

                    let warning = c.Node(i).StdOut |> List.find (fun l -> l.Contains "was delivered")

                    Expect.stringContains warning "although" $"node {i}'s warning"
                    Expect.stringContains warning room $"node {i}'s warning names the room"
                    printfn $"node {i}: {warning}"

                printfn $"{lost.Length} of {2 * lines} acknowledged lines lost with master {killed}"

                printfn
                    $"failover to {port}: {took.TotalSeconds:F1} s (elected {elected.TotalSeconds:F1} s after the kill)"

                printfn
                    $"messages through again {flowing.TotalSeconds:F1} s after the kill, {(flowing - elected).TotalSeconds:F2} s after the election"

                printfn $"new master's stream:\n  {log}"
                Expect.equal lost.Length (2 * lines) "every line said while the replica was held back is lost"
        ]
