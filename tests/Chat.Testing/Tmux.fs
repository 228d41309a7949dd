namespace Chat.Testing

open System
open System.Diagnostics
open System.IO

/// A program run in a terminal of its own: a detached tmux session of a given size, on a tmux server of its own
/// (never the user's), driven by `send-keys` and read by `capture-pane`. The command runs under `sh`, which prints
/// `exit code <n>` once it ends: the line shows on the terminal the program gave back.
type Tmux private (socket: string, name: string) =
    static let tmux (socket: string) (args: string list) =
        let psi = ProcessStartInfo "tmux"
        psi.ArgumentList.Add "-L"
        psi.ArgumentList.Add socket

        for a in args do
            psi.ArgumentList.Add a

        psi.UseShellExecute <- false
        psi.RedirectStandardOutput <- true
        psi.RedirectStandardError <- true

        // The tmux server inherits this environment: only what the caller asks for reaches the program.
        for key in List.ofSeq psi.Environment.Keys do
            if key.StartsWith("CHAT_", StringComparison.Ordinal) then
                psi.Environment.Remove key |> ignore

        use p = Process.Start psi
        let out = p.StandardOutput.ReadToEndAsync()
        let err = p.StandardError.ReadToEnd()
        p.WaitForExit()

        if p.ExitCode <> 0 then
            raise (ExpectationFailedException $"""tmux {String.Join(' ', args)} failed ({p.ExitCode}): {err}""")

        out.Result

    static let quote (s: string) = "'" + s.Replace("'", "'\\''") + "'"

    /// tmux on PATH, or a failure saying to install it: a skipped test would hide that nothing was tested.
    static member Require() =
        let onPath =
            (Environment.GetEnvironmentVariable "PATH"
             |> Option.ofObj
             |> Option.defaultValue "")
                .Split
                ':'
            |> Array.exists (fun d -> d <> "" && File.Exists(Path.Combine(d, "tmux")))

        if not onPath then
            raise (
                ExpectationFailedException
                    "tmux is not installed: install it (apt-get install tmux, or scripts/install-deps.sh, which CI runs)"
            )

    /// Starts `file args` with `env` set, in `directory`, on a `width` x `height` terminal.
    static member Start
        (file: string, args: string list, env: (string * string) list, directory: string, width: int, height: int)
        : Tmux =
        Tmux.Require()
        let socket = "chat-test-" + Guid.NewGuid().ToString "N"

        let assignments =
            env |> List.map (fun (k, v) -> $"{k}={quote v}") |> String.concat " "

        let command = file :: args |> List.map quote |> String.concat " "
        // The pane stays after the program ends, so that what it left on the terminal can be read.
        let script =
            $"cd {quote directory} && env {assignments} {command}; echo \"exit code $?\"; exec sleep 600"

        tmux socket [
            "new-session"
            "-d"
            "-s"
            "main"
            "-x"
            string width
            "-y"
            string height
            script
        ]
        |> ignore

        new Tmux(socket, "main")

    /// Text typed as it is (no key names).
    member _.Type(text: string) =
        tmux socket [ "send-keys"; "-t"; name; "-l"; text ] |> ignore

    /// Keys by tmux name: Enter, Tab, C-c, PPage, NPage, Up.
    member _.Press(keys: string list) =
        tmux socket ("send-keys" :: "-t" :: name :: keys) |> ignore

    /// The screen as lines of text (trailing spaces removed by tmux).
    member _.Screen() : string list =
        (tmux socket [ "capture-pane"; "-p"; "-t"; name ]).TrimEnd('\n').Split('\n')
        |> List.ofArray

    /// The screen with its colour and style escapes.
    member _.ScreenWithEscapes() : string =
        tmux socket [ "capture-pane"; "-p"; "-e"; "-t"; name ]

    member _.Resize(width: int, height: int) =
        tmux socket [ "resize-window"; "-t"; name; "-x"; string width; "-y"; string height ]
        |> ignore

    /// Waits until `found` holds for the screen; the screen is in the failure message.
    member this.WaitFor(timeout: TimeSpan, what: string, found: string list -> bool) : string list =
        let mutable last = []

        try
            Poll.untilSome timeout what (fun () ->
                last <- this.Screen()
                if found last then Some last else None)
        with :? TimeoutException as e ->
            raise (ExpectationFailedException($"{e.Message}; the screen:\n" + String.Join("\n", last)))

    interface IDisposable with
        member _.Dispose() =
            try
                tmux socket [ "kill-server" ] |> ignore
            with :? ExpectationFailedException ->
                // Already gone: the server ends with its last session.
                ()
