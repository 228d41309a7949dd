namespace Chat.Server

open System

type LogLevel =
    | Debug = 0
    | Info = 1
    | Warn = 2
    | Error = 3

/// Structured, level-filtered log lines on stdout: `time LEVEL message key=value ...`.
/// Values are quoted when they hold spaces; callers never pass passwords or hashes.
type Log(minimum: LogLevel) =
    let gate = obj ()

    let format (value: obj) =
        let s = string value

        if s.Contains ' ' || s.Contains '"' || s = "" then
            "\"" + s.Replace("\"", "\\\"") + "\""
        else
            s

    member _.Enabled(level: LogLevel) = level >= minimum

    member this.Write(level: LogLevel, message: string, fields: (string * obj) list) =
        if this.Enabled level then
            let kv = fields |> List.map (fun (k, v) -> $" {k}={format v}") |> String.concat ""
            let name = level.ToString().ToUpperInvariant()
            let line = $"{DateTime.UtcNow:``yyyy-MM-ddTHH:mm:ss.fffZ``} {name} {message}{kv}"
            lock gate (fun () -> Console.Out.WriteLine line)

    member this.Debug(message, ?fields) =
        this.Write(LogLevel.Debug, message, defaultArg fields [])

    member this.Info(message, ?fields) =
        this.Write(LogLevel.Info, message, defaultArg fields [])

    member this.Warn(message, ?fields) =
        this.Write(LogLevel.Warn, message, defaultArg fields [])

    member this.Error(message, ?fields) =
        this.Write(LogLevel.Error, message, defaultArg fields [])
