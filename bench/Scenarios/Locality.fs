/// Four instances on one redis-server, eight rooms whose members are on one or two instances each:
/// of the bus events each instance received, how many it needed (a local session got a line from
/// them). An instance that subscribes only to what its sessions need receives about what it needs.
module Chat.Bench.Scenarios.Locality

open System
open System.Threading.Tasks
open Chat.Bench.Processes
open Chat.Bench.Report
open Chat.Bench.Scenarios.Common
open Chat.Bench.Scenarios.Rooms

let private instances = 4
let private roomCount = 8
let private received = "chat_bus_events_received_total"
let private needed = "chat_bus_events_needed_total"

/// Room r's members are on instance r mod 4 and, for odd r, also on (r + 1) mod 4.
let homes (r: int) =
    if r % 2 = 1 then
        [| r % instances; (r + 1) % instances |]
    else
        [| r % instances |]

let private scrapeAll (servers: Server list) =
    servers
    |> List.map (fun s -> Counters.scrape s.MetricsPort.Value)
    |> Task.WhenAll

let private receivedOf (scrapes: Map<string, float> array) =
    scrapes |> Array.map (fun m -> Counters.valueOf received m 0.0)

/// Scrapes until no instance's received count moves for 300 ms (at most 10 s): the bus is quiet.
let private settle (servers: Server list) =
    task {
        let! first = scrapeAll servers
        let mutable last = first
        let mutable quiet = false
        let clock = Diagnostics.Stopwatch.StartNew()

        while not quiet && clock.Elapsed < TimeSpan.FromSeconds 10.0 do
            do! Task.Delay 300
            let! now = scrapeAll servers
            quiet <- receivedOf now = receivedOf last
            last <- now

        return last
    }

let private fail why = {
    Name = "locality"
    Metrics = []
    Notes = []
    Violations = 0L
    Error = Some why
}

let run (ctx: Context) : Task<ScenarioResult> =
    let s = ctx.Settings

    let layout = {
        Rooms = Array.init roomCount (sprintf "loc%d")
        Homes = Array.init roomCount homes
        Members = s.LocalityMembers
        Senders = s.LocalitySenders
        Messages = s.LocalityMessages
    }

    match ctx.Redis with
    | None -> Task.FromResult(fail "needs Redis: run without --no-redis")
    | Some redis ->
        task {
            try
                return!
                    withServersOn
                        ctx
                        (Some redis.Configuration)
                        true
                        "loc"
                        instances
                        loadBcryptCost
                        (Some s.SendQueue)
                        (fun servers pin ->
                            task {
                                use progress = new Progress(tagged ctx "locality")
                                let endpoints = servers |> List.map _.Endpoint |> Array.ofList
                                use load = new RoomLoad(layout, endpoints, pin, progress)
                                do! load.ConnectAsync ctx.Cancel
                                progress.Phase("settle", fun () -> "waiting for the joins' events to pass")
                                let! before = settle servers
                                let cpu = CpuMeter.For(ctx, servers)
                                let! traffic = load.SendAsync ctx.Cancel
                                progress.Phase("settle", fun () -> "waiting for the last events to pass")
                                let! after = settle servers
                                let cpuUse = cpu.Stop()

                                let delta key i =
                                    match Map.tryFind key after[i], Map.tryFind key before[i] with
                                    | Some a, Some b -> Some(int64 (a - b))
                                    | _ -> None

                                let perRoom = int64 layout.Senders * int64 layout.Messages

                                let byLayout i =
                                    perRoom
                                    * int64 (layout.Homes |> Array.filter (Array.contains i) |> Array.length)

                                let counted = List.init instances (delta needed) |> List.forall Option.isSome

                                let rows = [
                                    for i in 0 .. instances - 1 ->
                                        let got = delta received i |> Option.defaultValue 0L
                                        let need = if counted then (delta needed i).Value else byLayout i
                                        i, got, need
                                ]

                                let ratio (a: int64) (b: int64) =
                                    if b = 0L then nan else float a / float b

                                let totalGot = rows |> List.sumBy (fun (_, g, _) -> g)
                                let totalNeed = rows |> List.sumBy (fun (_, _, n) -> n)
                                let worst = rows |> List.map (fun (_, g, n) -> ratio g n) |> List.max

                                return {
                                    Name = "locality"
                                    Metrics = [
                                        count "instances" "instances" "" (int64 instances)
                                        count "rooms" "rooms" "" (int64 roomCount)
                                        count "members" "members per room" "" (int64 layout.Members)
                                        count "senders" "senders per room" "" (int64 layout.Senders)
                                        yield! trafficMetrics traffic
                                        for i, got, need in rows do
                                            let id = servers[i].Id
                                            count $"{id}_received" $"{id}: events received" "events" got
                                            count $"{id}_needed" $"{id}: events needed" "events" need

                                            count
                                                $"{id}_needed_layout"
                                                $"{id}: events of its rooms (layout)"
                                                "events"
                                                (byLayout i)

                                            num $"{id}_ratio" $"{id}: received / needed" "" 2 (ratio got need) |> lower
                                        count "received" "events received, all instances" "events" totalGot
                                        count "needed" "events needed, all instances" "events" totalNeed
                                        num "ratio" "received / needed, all instances" "" 2 (ratio totalGot totalNeed)
                                        |> lower
                                        num "max_ratio" "received / needed, highest instance" "" 2 worst |> lower
                                        str
                                            "needed_from"
                                            "events needed taken from"
                                            (if counted then "counter" else "layout")
                                        yield! cpuUse.Metrics
                                    ]
                                    Notes = [
                                        let where r =
                                            layout.Homes[r] |> Array.map (fun i -> servers[i].Id) |> String.concat "+"

                                        let rooms =
                                            [ for r in 0 .. roomCount - 1 -> $"{layout.Rooms[r]} on {where r}" ]
                                            |> String.concat ", "

                                        $"members per room over its instances: {rooms}; counted over the send phase only"

                                        if counted then
                                            $"events needed: the servers' {needed} (an event a local session got a line from)"
                                        else
                                            $"this build has no {needed}: events needed computed from the layout (the messages of the rooms with members on that instance)"

                                        match traffic.FirstError with
                                        | Some e -> $"first ERR line: {e}"
                                        | None -> ()
                                    ]
                                    Violations = traffic.Violations
                                    Error = None
                                }
                            })
            finally
                redis.FlushAll()
        }
