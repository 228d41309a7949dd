namespace Chat.Server

open System
open System.Buffers
open System.Text
open System.Text.Encodings.Web
open System.Text.Json

type LogLevel =
    | Debug = 0
    | Info = 1
    | Warn = 2
    | Error = 3

/// How log lines are written (`--log-format`).
type LogFormat =
    /// `time LEVEL message key=value ...`, for people.
    | Text
    /// One JSON object a line, `{"time":…,"level":…,"message":…,<fields>}`, for log shippers.
    | Json

/// Structured, level-filtered log lines on stdout, as text (`time LEVEL message key=value ...`;
/// values are quoted when they hold spaces) or as one JSON object a line (numbers and booleans
/// stay numbers and booleans, everything else is its string). Callers never pass passwords or hashes.
type Log(minimum: LogLevel, format: LogFormat) =
    let gate = obj ()
    // Under the lock: one buffer and writer for every JSON line.
    let buffer = ArrayBufferWriter<byte>(512)

    let json =
        new Utf8JsonWriter(
            buffer,
            JsonWriterOptions(Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping, SkipValidation = true)
        )

    let quoted (value: obj) =
        let s = string value

        if s.Contains ' ' || s.Contains '"' || s = "" then
            "\"" + s.Replace("\"", "\\\"") + "\""
        else
            s

    let textLine (time: DateTime) (name: string) (message: string) (fields: (string * obj) list) =
        let kv = fields |> List.map (fun (k, v) -> $" {k}={quoted v}") |> String.concat ""

        $"{time:``yyyy-MM-ddTHH:mm:ss.fffZ``} {name} {message}{kv}"

    /// Under the lock.
    let jsonLine (time: DateTime) (name: string) (message: string) (fields: (string * obj) list) =
        buffer.ResetWrittenCount()
        json.Reset()
        json.WriteStartObject()
        json.WriteString("time", time.ToString("yyyy-MM-ddTHH:mm:ss.fffZ", Globalization.CultureInfo.InvariantCulture))
        json.WriteString("level", name)
        json.WriteString("message", message)

        for k, v in fields do
            match v with
            | :? int as n -> json.WriteNumber(k, n)
            | :? int64 as n -> json.WriteNumber(k, n)
            | :? float as n when Double.IsFinite n -> json.WriteNumber(k, n)
            | :? bool as b -> json.WriteBoolean(k, b)
            | null -> json.WriteNull k
            | v -> json.WriteString(k, string v)

        json.WriteEndObject()
        json.Flush()
        Encoding.UTF8.GetString(buffer.WrittenSpan)

    new(minimum: LogLevel) = Log(minimum, Text)

    member _.Enabled(level: LogLevel) = level >= minimum

    member this.Write(level: LogLevel, message: string, fields: (string * obj) list) =
        if this.Enabled level then
            let name = level.ToString().ToUpperInvariant()
            let time = DateTime.UtcNow

            match format with
            | Text ->
                let line = textLine time name message fields
                lock gate (fun () -> Console.Out.WriteLine line)
            | Json -> lock gate (fun () -> Console.Out.WriteLine(jsonLine time name message fields))

    member this.Debug(message, ?fields) =
        this.Write(LogLevel.Debug, message, defaultArg fields [])

    member this.Info(message, ?fields) =
        this.Write(LogLevel.Info, message, defaultArg fields [])

    member this.Warn(message, ?fields) =
        this.Write(LogLevel.Warn, message, defaultArg fields [])

    member this.Error(message, ?fields) =
        this.Write(LogLevel.Error, message, defaultArg fields [])
