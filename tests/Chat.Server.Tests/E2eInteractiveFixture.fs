namespace Chat.Server.Tests

open System
open System.IO
open Expecto
open Chat.Testing

/// The restart fixture's servers and line clients, and the interactive clients running in tmux.
type InteractiveFixture() =
    let servers = new RestartFixture()
    let terminals = Collections.Generic.List<Tmux>()

    member _.Servers = servers

    /// The real client as `user` (a demo user), interactive in an 80x24 terminal, with `env` on top of a UTF-8
    /// locale and quick reconnects.
    member _.Terminal(server: ServerProcess, user: string, password: string, ?env: (string * string) list) : Tmux =
        let args = servers.ClientArgs(server, user, [])

        let env = [
            "CHAT_PASSWORD", password
            "TERM", "xterm-256color"
            "LANG", "C.UTF-8"
            yield! defaultArg env []
        ]

        let t = Tmux.Start(Paths.dotnetHost.Value, args, env, Path.GetTempPath(), 80, 24)
        terminals.Add t
        t

    interface ITestScope with
        member _.EndTest() = (servers :> ITestScope).EndTest()

        member _.Diagnostics() =
            let screens = [
                for t in terminals ->
                    try
                        "terminal:\n" + String.Join("\n", t.Screen())
                    with :? ExpectationFailedException as e ->
                        $"terminal: {e.Message}"
            ]

            String.concat "\n" screens + "\n" + (servers :> ITestScope).Diagnostics()

    interface IDisposable with
        member _.Dispose() =
            for t in terminals do
                (t :> IDisposable).Dispose()

            (servers :> IDisposable).Dispose()
