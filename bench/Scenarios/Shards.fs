/// A Redis Cluster of three masters, two instances, many rooms: how the rooms' Pub/Sub and stream
/// traffic spreads over the masters (each room's keys and channel hash to the slot of its tag).
/// This build only: one before the hash-tagged schema cannot run on a Cluster.
module Chat.Bench.Scenarios.Shards

open System
open System.Threading.Tasks
open Chat.Bench.Processes
open Chat.Bench.Report
open Chat.Bench.Scenarios.Common
open Chat.Bench.Scenarios.Rooms
open Chat.Testing

let private instances = 2

/// The commands a room's events cost: the stream append, the sharded publish and the scripts
/// that make them.
let private eventCommands = [ "xadd"; "spublish"; "evalsha"; "eval" ]

type private Snapshot = {
    Calls: Map<string, int64>
    Processed: int64
}

let private snapshot (node: RedisServer) = {
    Calls = Counters.commandCalls (Counters.parseInfo (node.Command [ "INFO"; "commandstats" ]))
    Processed =
        Counters.valueOf "total_commands_processed" (Counters.parseInfo (node.Command [ "INFO"; "stats" ])) "0"
        |> int64
}

let private startCluster () =
    try
        new RedisCluster()
    with e ->
        raise (StartFailed $"the Redis Cluster did not start: {e.GetBaseException().Message}")

let private pct (part: int64) (whole: int64) =
    if whole = 0L then nan else float part * 100.0 / float whole

let run (ctx: Context) : Task<ScenarioResult> =
    let s = ctx.Settings

    task {
        printfn "  starting a Redis Cluster (3 masters, 3 replicas) ..."
        use cluster = startCluster ()
        let masters = cluster.MasterPorts() |> List.sort

        printfn
            "  cluster up in %.1f s, masters on %s"
            cluster.StartupTime.TotalSeconds
            (masters |> List.map string |> String.concat ", ")

        let layout = {
            Rooms = Array.init s.ShardRooms (sprintf "shard%d")
            Homes = Array.init s.ShardRooms (fun _ -> [| 0; 1 |])
            Members = s.ShardMembers
            Senders = 1
            Messages = s.ShardMessages
        }

        let roomsOn port =
            layout.Rooms
            |> Array.filter (fun r -> cluster.OwnerOf $"chat:{{r:{r}}}:log" = port)
            |> Array.length

        return!
            withServersOn
                ctx
                (Some cluster.Configuration)
                false
                "shard"
                instances
                loadBcryptCost
                (Some s.SendQueue)
                (fun servers pin ->
                    task {
                        use progress = new Progress(tagged ctx "shards")
                        let endpoints = servers |> List.map _.Endpoint |> Array.ofList
                        use load = new RoomLoad(layout, endpoints, pin, progress)
                        do! load.ConnectAsync ctx.Cancel
                        let nodes = masters |> List.map cluster.Node
                        let before = nodes |> List.map snapshot

                        let cpu =
                            CpuMeter(
                                [
                                    for x in servers do
                                        yield x.Id, x.Pid
                                    for n in nodes do
                                        yield $"redis{n.Port}", n.Pid
                                    yield "bench", Environment.ProcessId
                                ]
                            )

                        let! traffic = load.SendAsync ctx.Cancel
                        let cpuUse = cpu.Stop()
                        let after = nodes |> List.map snapshot

                        let calls name (a: Snapshot) (b: Snapshot) =
                            Counters.valueOf name a.Calls 0L - Counters.valueOf name b.Calls 0L

                        let rows = [
                            for port, a, b in List.zip3 masters after before ->
                                let events = eventCommands |> List.sumBy (fun c -> calls c a b)
                                port, a, b, events, a.Processed - b.Processed
                        ]

                        let allEvents = rows |> List.sumBy (fun (_, _, _, e, _) -> e)
                        let allProcessed = rows |> List.sumBy (fun (_, _, _, _, p) -> p)
                        let highest = rows |> List.map (fun (_, _, _, e, _) -> pct e allEvents) |> List.max

                        let highestProcessed =
                            rows |> List.map (fun (_, _, _, _, p) -> pct p allProcessed) |> List.max

                        return {
                            Name = "shards"
                            Metrics = [
                                count "instances" "instances" "" (int64 instances)
                                count "masters" "Cluster masters" "" (int64 masters.Length)
                                count "rooms" "rooms" "" (int64 layout.Rooms.Length)
                                count "members" "members per room" "" (int64 layout.Members)
                                yield! trafficMetrics traffic
                                for i, (port, a, b, events, processed) in List.indexed rows do
                                    let id = $"master{i + 1}"
                                    let label = $"master {port}"

                                    count
                                        $"{id}_rooms"
                                        $"{label}: rooms whose slot it serves"
                                        ""
                                        (int64 (roomsOn port))

                                    count $"{id}_spublish" $"{label}: SPUBLISH calls" "" (calls "spublish" a b)
                                    count $"{id}_xadd" $"{label}: XADD calls" "" (calls "xadd" a b)

                                    count
                                        $"{id}_evalsha"
                                        $"{label}: EVALSHA + EVAL calls"
                                        ""
                                        (calls "evalsha" a b + calls "eval" a b)

                                    num
                                        $"{id}_event_share_pct"
                                        $"{label}: share of SPUBLISH+XADD+EVAL*"
                                        "%"
                                        1
                                        (pct events allEvents)

                                    num
                                        $"{id}_commands_share_pct"
                                        $"{label}: share of commands processed"
                                        "%"
                                        1
                                        (pct processed allProcessed)
                                num
                                    "max_master_share_pct"
                                    "highest master's share of SPUBLISH+XADD+EVAL*"
                                    "%"
                                    1
                                    highest
                                |> lower
                                num
                                    "max_master_commands_pct"
                                    "highest master's share of commands processed"
                                    "%"
                                    1
                                    highestProcessed
                                |> lower
                                str
                                    "balanced"
                                    "no master above 50 %"
                                    (if highest <= 50.0 && highestProcessed <= 50.0 then
                                         "yes"
                                     else
                                         "NO")
                                yield! cpuUse.Metrics
                            ]
                            Notes = [
                                "this build only: a build from before the hash-tagged schema cannot run on a Redis Cluster"
                                "each master's INFO commandstats (calls, also those made by scripts) and INFO stats total_commands_processed, over the send phase; share = its part of the sum over the masters"
                                match traffic.FirstError with
                                | Some e -> $"first ERR line: {e}"
                                | None -> ()
                            ]
                            Violations = traffic.Violations
                            Error = None
                        }
                    })
    }
