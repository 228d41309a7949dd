/// The benchmark's command line.
module Chat.Bench.Args

open System
open System.IO
open Argu

type ScenarioName =
    | [<CustomCommandLine "fanout">] FanOut
    | [<CustomCommandLine "latency">] Latency
    | [<CustomCommandLine "connections">] Connections
    | [<CustomCommandLine "logins">] Logins
    | [<CustomCommandLine "locality">] Locality
    | [<CustomCommandLine "shards">] Shards
    | [<CustomCommandLine "reconnect">] Reconnect
    | [<CustomCommandLine "paced">] Paced
    | [<CustomCommandLine "paced-1000">] Paced1000

type Arg =
    | [<AltCommandLine "--scenario">] Scenarios of ScenarioName list
    | Instances of int
    | No_Redis
    | Server_Dll of path: string
    | Baseline of path: string
    | Rounds of int
    | Quick
    | Members of int
    | Senders of int
    | Duration of seconds: int
    | Window of lines: int
    | FanOut_Warmup of seconds: int
    | Send_Queue of lines: int
    | Rate of msgs_per_second: int
    | Latency_Members of int
    | Latency_Senders of int
    | Latency_Duration of seconds: int
    | Latency_Warmup of seconds: int
    | Connections of int
    | Conn_Concurrency of int
    | Conn_Lobby
    | Bcrypt_Cost of int
    | Login_Clients of int
    | Login_Duration of seconds: int
    | Login_Warmup of seconds: int
    | Baseline_Seconds of int
    | Locality_Members of int
    | Locality_Senders of int
    | Locality_Messages of int
    | Shard_Rooms of int
    | Shard_Members of int
    | Shard_Messages of int
    | Reconnect_Users of int
    | Paced_Members of int
    | Paced_Senders of int
    | Paced_Rate of msgs_per_second: int
    | Paced_Duration of seconds: int
    | Paced_Warmup of seconds: int
    | Chart of file: string

    interface IArgParserTemplate with
        member a.Usage =
            match a with
            | Scenarios _ ->
                "scenarios to run: paced fanout latency connections logins paced-1000 locality shards reconnect (default: the first five)."
            | Instances _ -> "server instances sharing one redis-server (default 2)."
            | No_Redis -> "one in-memory server instance, no redis-server (while the Redis mode is unavailable)."
            | Server_Dll _ -> "server to run (default src/Chat.Server/bin/Release/net10.0/Chat.Server.dll)."
            | Baseline _ ->
                "a previous server build to run every scenario against as well, side by side: its Chat.Server.dll, the folder holding it, or a work tree with it built (scripts/bench-baseline.sh builds one)."
            | Rounds _ ->
                "runs of each scenario, medians reported (default 1); with --baseline each build runs once a round, this build first in odd rounds, the previous one in even rounds."
            | Quick -> "small sizes for a smoke test (flags given explicitly still win)."
            | Members _ -> "fan-out: room members, split across the instances (default 100)."
            | Senders _ -> "fan-out: members that also send at full speed (default 4)."
            | Duration _ -> "fan-out: seconds of sending measured, after the warm-up (default 10)."
            | FanOut_Warmup _ ->
                "fan-out: seconds of the same flood before measuring, while the servers warm up (default 10)."
            | Window _ -> "fan-out: lines a sender may have in flight before its own copy comes back (default 1000)."
            | Send_Queue _ -> "fan-out: the servers' --send-queue (default 100000)."
            | Rate _ -> "latency: offered messages per second, all senders together (default 1000)."
            | Latency_Members _ -> "latency: room members, half on each of the first two instances (default 100)."
            | Latency_Senders _ -> "latency: senders, on instance 1 (default 4)."
            | Latency_Duration _ -> "latency: seconds of sending measured, after the warm-up (default 10)."
            | Latency_Warmup _ ->
                "latency: seconds of sending before measuring, while the servers' JIT settles (default 10)."
            | Connections _ -> "connections: logged-in idle connections to open on one instance (default 10000)."
            | Conn_Concurrency _ -> "connections: connections being set up at once (default 32)."
            | Conn_Lobby ->
                "connections: stay in the lobby (every login is announced to every earlier one) instead of a room each."
            | Bcrypt_Cost _ ->
                "logins: the servers' --bcrypt-cost (default 12, the server's own; the other scenarios use 4)."
            | Login_Clients _ -> "logins: clients logging in and out in a loop (default 4 x cores)."
            | Login_Duration _ -> "logins: seconds of logging in measured, after the warm-up (default 20)."
            | Login_Warmup _ ->
                "logins: seconds of logging in before measuring, while the servers' JIT settles (default 15)."
            | Baseline_Seconds _ -> "logins: seconds of the in-process bcrypt baseline (default 5)."
            | Locality_Members _ ->
                "locality: members of each of the 8 rooms, over its one or two instances (default 8)."
            | Locality_Senders _ -> "locality: members of each room that send (default 2)."
            | Locality_Messages _ -> "locality: lines each sender sends (default 200)."
            | Shard_Rooms _ -> "shards: rooms, each with members on both instances (default 48)."
            | Shard_Members _ -> "shards: members of each room; the first sends (default 4)."
            | Shard_Messages _ -> "shards: lines each room's sender sends (default 100)."
            | Reconnect_Users _ ->
                "reconnect: users that lose their server and all come back at once, with RESUME and with LOGIN (default 200)."
            | Paced_Members _ -> "paced: room members, alternating over the first two instances (default 50)."
            | Paced_Senders _ -> "paced: members that send, the first ones, so half on each instance (default 10)."
            | Paced_Rate _ ->
                "paced: offered messages per second, all senders together (default 200: 20 each); paced-1000 offers 1000."
            | Paced_Duration _ -> "paced and paced-1000: seconds of sending measured, after the warm-up (default 10)."
            | Paced_Warmup _ ->
                "paced and paced-1000: seconds of the same sending before measuring, while the servers' JIT settles (default 10)."
            | Chart _ ->
                "the latency CDF chart to write, an HTML file for a browser (default bench-results/latency.html)."

/// Everything a run needs, validated.
type Settings = {
    Scenarios: ScenarioName list
    Instances: int
    Redis: bool
    ServerDll: string
    /// The previous build every scenario also runs against (--baseline), resolved to its dll.
    Baseline: string option
    Rounds: int
    Members: int
    Senders: int
    Duration: TimeSpan
    Window: int
    FanOutWarmup: TimeSpan
    SendQueue: int
    Rate: int
    LatencyMembers: int
    LatencySenders: int
    LatencyDuration: TimeSpan
    LatencyWarmup: TimeSpan
    Connections: int
    ConnConcurrency: int
    ConnLobby: bool
    BcryptCost: int
    LoginClients: int
    LoginDuration: TimeSpan
    LoginWarmup: TimeSpan
    BaselineDuration: TimeSpan
    LocalityMembers: int
    LocalitySenders: int
    LocalityMessages: int
    ShardRooms: int
    ShardMembers: int
    ShardMessages: int
    ReconnectUsers: int
    PacedMembers: int
    PacedSenders: int
    PacedRate: int
    PacedDuration: TimeSpan
    PacedWarmup: TimeSpan
    /// Where the latency chart goes.
    Chart: string
}

type Parsed =
    | Run of Settings
    | Usage of string
    | Invalid of string

exception private BadFlag of string

let private check cond message =
    if not cond then
        raise (BadFlag message)

/// The repository root (Chat.Testing's: `CHAT_REPO_ROOT`, else the first directory up that holds
/// Chat.sln); the working directory when there is none, and the missing build is reported then.
let private repoRoot () =
    try
        Chat.Testing.Paths.repoRoot.Value
    with Failure _ ->
        Environment.CurrentDirectory

/// A server build given as its dll, the folder holding it, or a work tree it was built in.
let resolveServerDll (path: string) : string =
    let full = Path.GetFullPath path

    if Directory.Exists full then
        [
            Path.Combine(full, "Chat.Server.dll")
            Path.Combine(full, "src", "Chat.Server", "bin", "Release", "net10.0", "Chat.Server.dll")
        ]
        |> List.tryFind File.Exists
        |> Option.defaultValue (Path.Combine(full, "Chat.Server.dll"))
    else
        full

let private ofResults (r: ParseResults<Arg>) : Settings =
    let quick = r.Contains Quick

    let pick (case: Quotations.Expr<int -> Arg>) normal small =
        r.GetResult(case, defaultValue = (if quick then small else normal))

    let seconds (n: int) = TimeSpan.FromSeconds(float n)
    let redis = not (r.Contains No_Redis)

    let instances =
        if redis then
            r.GetResult(Instances, defaultValue = 2)
        else
            1

    let settings = {
        Scenarios =
            r.GetResult(Scenarios, defaultValue = [ Paced; FanOut; Latency; ScenarioName.Connections; Logins ])
            |> List.distinct
        Instances = instances
        Redis = redis
        ServerDll =
            r.GetResult(
                Server_Dll,
                defaultValue =
                    Path.Combine(repoRoot (), "src", "Chat.Server", "bin", "Release", "net10.0", "Chat.Server.dll")
            )
            |> resolveServerDll
        Baseline = r.TryGetResult Baseline |> Option.map resolveServerDll
        Rounds = r.GetResult(Rounds, defaultValue = 1)
        Members = pick <@ Members @> 100 20
        Senders = pick <@ Senders @> 4 2
        Duration = pick <@ Duration @> 10 3 |> seconds
        Window = r.GetResult(Window, defaultValue = 1000)
        FanOutWarmup = pick <@ FanOut_Warmup @> 10 1 |> seconds
        SendQueue = r.GetResult(Send_Queue, defaultValue = 100_000)
        Rate = pick <@ Rate @> 1000 200
        LatencyMembers = pick <@ Latency_Members @> 100 20
        LatencySenders = pick <@ Latency_Senders @> 4 2
        LatencyDuration = pick <@ Latency_Duration @> 10 3 |> seconds
        LatencyWarmup = pick <@ Latency_Warmup @> 10 1 |> seconds
        Connections = pick <@ Connections @> 10000 200
        ConnConcurrency = r.GetResult(Conn_Concurrency, defaultValue = 32)
        ConnLobby = r.Contains Conn_Lobby
        BcryptCost = r.GetResult(Bcrypt_Cost, defaultValue = 12)
        LoginClients = r.GetResult(Login_Clients, defaultValue = 4 * Environment.ProcessorCount)
        LoginDuration = pick <@ Login_Duration @> 20 6 |> seconds
        LoginWarmup = pick <@ Login_Warmup @> 15 4 |> seconds
        BaselineDuration = pick <@ Baseline_Seconds @> 5 1 |> seconds
        LocalityMembers = pick <@ Locality_Members @> 8 4
        LocalitySenders = pick <@ Locality_Senders @> 2 1
        LocalityMessages = pick <@ Locality_Messages @> 200 50
        ShardRooms = pick <@ Shard_Rooms @> 48 48
        ShardMembers = pick <@ Shard_Members @> 4 2
        ShardMessages = pick <@ Shard_Messages @> 100 20
        ReconnectUsers = pick <@ Reconnect_Users @> 200 50
        PacedMembers = r.GetResult(Paced_Members, defaultValue = 50)
        PacedSenders = r.GetResult(Paced_Senders, defaultValue = 10)
        PacedRate = r.GetResult(Paced_Rate, defaultValue = 200)
        PacedDuration = pick <@ Paced_Duration @> 10 3 |> seconds
        PacedWarmup = pick <@ Paced_Warmup @> 10 1 |> seconds
        Chart =
            r.GetResult(Chart, defaultValue = Path.Combine(repoRoot (), "bench-results", "latency.html"))
            |> Path.GetFullPath
    }

    check (settings.Instances >= 1 && settings.Instances <= 16) "--instances must be between 1 and 16"
    check (settings.Rounds >= 1 && settings.Rounds <= 20) "--rounds must be between 1 and 20"
    check (settings.Members >= 2) "--members must be at least 2"
    check (settings.Senders >= 1 && settings.Senders <= settings.Members) "--senders must be between 1 and --members"
    check (settings.Window >= 1) "--window must be at least 1"
    check (settings.FanOutWarmup.TotalSeconds >= 0.0) "--fanout-warmup must not be negative"
    check (settings.SendQueue >= 1 && settings.SendQueue <= 1_000_000) "--send-queue must be between 1 and 1000000"
    check (settings.Rate >= 1) "--rate must be at least 1"
    check (settings.LatencySenders >= 1) "--latency-senders must be at least 1"
    check (settings.LatencyMembers > settings.LatencySenders) "--latency-members must exceed --latency-senders"
    check (settings.LatencyDuration.TotalSeconds >= 1.0) "--latency-duration must be at least 1"
    check (settings.LatencyWarmup.TotalSeconds >= 0.0) "--latency-warmup must not be negative"
    check (settings.Connections >= 1) "--connections must be at least 1"
    check (settings.ConnConcurrency >= 1) "--conn-concurrency must be at least 1"
    check (settings.BcryptCost >= 4 && settings.BcryptCost <= 31) "--bcrypt-cost must be between 4 and 31"
    check (settings.LoginClients >= 1) "--login-clients must be at least 1"
    check (settings.Duration.TotalSeconds >= 1.0) "--duration must be at least 1"
    check (settings.LoginDuration.TotalSeconds >= 1.0) "--login-duration must be at least 1"
    check (settings.LoginWarmup.TotalSeconds >= 0.0) "--login-warmup must not be negative"
    check (settings.BaselineDuration.TotalSeconds >= 1.0) "--baseline-seconds must be at least 1"

    check
        (settings.LocalitySenders >= 1
         && settings.LocalitySenders <= settings.LocalityMembers)
        "--locality-senders must be between 1 and --locality-members"

    check (settings.LocalityMessages >= 1) "--locality-messages must be at least 1"
    check (settings.ShardRooms >= 1) "--shard-rooms must be at least 1"
    check (settings.ShardMembers >= 1) "--shard-members must be at least 1"
    check (settings.ShardMessages >= 1) "--shard-messages must be at least 1"
    check (settings.ReconnectUsers >= 1) "--reconnect-users must be at least 1"
    check (settings.PacedSenders >= 1) "--paced-senders must be at least 1"
    check (settings.PacedMembers > settings.PacedSenders) "--paced-members must exceed --paced-senders"
    check (settings.PacedRate >= 1) "--paced-rate must be at least 1"
    check (settings.PacedDuration.TotalSeconds >= 1.0) "--paced-duration must be at least 1"
    check (settings.PacedWarmup.TotalSeconds >= 0.0) "--paced-warmup must not be negative"
    check (settings.Chart.EndsWith ".html") "--chart must name an .html file"
    settings

let parse (argv: string array) : Parsed =
    let parser =
        ArgumentParser.Create<Arg>(programName = "dotnet run -c Release --project bench --")

    try
        Run(parser.ParseCommandLine argv |> ofResults)
    with
    | :? ArguParseException as e when e.ErrorCode = ErrorCode.HelpText -> Usage(parser.PrintUsage())
    | :? ArguParseException as e -> Invalid(e.Message.Split('\n').[0].Trim())
    | BadFlag message -> Invalid message
