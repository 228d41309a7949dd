namespace Chat.Server.Tests

open System.Collections.Generic
open Expecto
open Argu
open Chat.Domain
open Chat.Server

/// `CHAT_*` variables through Argu's configuration reader (here a dictionary in its place): each
/// flag has one, a flag beats its variable, and a bad one is one message naming it.
module ServerArgsTests =
    let private parse (argv: string list) (variables: (string * string) list) =
        Args.parse (Array.ofList argv) (ConfigurationReader.FromDictionary(dict variables))

    let private config argv variables =
        match parse argv variables with
        | Args.Run c -> c
        | other -> failtestf "expected a configuration, got %A" other

    let private invalid argv variables =
        match parse argv variables with
        | Args.Invalid message -> message
        | other -> failtestf "expected a refusal, got %A" other

    [<Tests>]
    let tests =
        testList "ServerArgsTests" [
            testCase "every flag's variable applies"
            <| fun () ->
                let c =
                    config [] [
                        "CHAT_PORT", "9001"
                        "CHAT_BIND", "127.0.0.1"
                        "CHAT_REDIS", "localhost:6390"
                        "CHAT_CERT_DIR", "/tmp/c"
                        "CHAT_SERVER_ID", "from-env"
                        "CHAT_DUPLICATE_LOGIN", "reject"
                        "CHAT_DEMO_USERS", "true"
                        "CHAT_BCRYPT_COST", "5"
                        "CHAT_MAX_LINE", "100"
                        "CHAT_LOGIN_TIMEOUT", "7"
                        "CHAT_HANDSHAKE_TIMEOUT", "3"
                        "CHAT_SEND_QUEUE", "11"
                        "CHAT_MIN_PASSWORD", "9"
                        "CHAT_HISTORY", "12"
                        "CHAT_LOGIN_FAILURES", "13"
                        "CHAT_MSG_RATE", "14"
                        "CHAT_MAX_CONNS_PER_ADDRESS", "15"
                        "CHAT_LOG_LEVEL", "warn"
                    ]

                Expect.equal c.Port 9001 "port"
                Expect.equal (string c.Bind) "127.0.0.1" "bind"
                Expect.equal c.Redis (Some "localhost:6390") "redis"
                Expect.equal c.CertDir "/tmp/c" "cert-dir"
                Expect.equal c.ServerId "from-env" "server-id"
                Expect.equal c.DuplicateLogin DuplicateLoginPolicy.Reject "duplicate-login"
                Expect.isTrue c.DemoUsers "demo-users"
                Expect.equal c.BcryptCost 5 "bcrypt-cost"
                Expect.equal c.MaxLine 100 "max-line"
                Expect.equal c.LoginTimeout.TotalSeconds 7.0 "login-timeout"
                Expect.equal c.HandshakeTimeout.TotalSeconds 3.0 "handshake-timeout"
                Expect.equal c.SendQueue 11 "send-queue"
                Expect.equal c.MinPassword 9 "min-password"
                Expect.equal c.History 12 "history"
                Expect.equal c.LoginFailures 13 "login-failures"
                Expect.equal c.MsgRate 14 "msg-rate"
                Expect.equal c.MaxConnsPerAddress 15 "max-conns-per-address"
                Expect.equal c.LogLevel LogLevel.Warn "log-level"

            testCase "the abuse limits: CHAT_MAX_CONNS and CHAT_REGISTER_RATE apply, flags beat them, defaults"
            <| fun () ->
                let c = config [] [ "CHAT_MAX_CONNS", "3"; "CHAT_REGISTER_RATE", "4" ]
                Expect.equal (c.MaxConns, c.RegisterRate) (3, 4) "from the variables"

                let c =
                    config [ "--max-conns"; "0"; "--register-rate"; "0" ] [
                        "CHAT_MAX_CONNS", "3"
                        "CHAT_REGISTER_RATE", "4"
                    ]

                Expect.equal (c.MaxConns, c.RegisterRate) (0, 0) "from the flags"
                let c = config [] []
                Expect.equal (c.MaxConns, c.RegisterRate) (10_000, 20) "the defaults"

                Expect.equal
                    (invalid [] [ "CHAT_REGISTER_RATE", "-1" ])
                    "CHAT_REGISTER_RATE (--register-rate) must be between 0 and 1000000 (got -1)"
                    "out of range"

            testCase "a flag beats its variable, also one the variable has wrong"
            <| fun () ->
                let c =
                    config [ "--port"; "0"; "--server-id"; "from-flag"; "--max-line"; "64" ] [
                        "CHAT_PORT", "1"
                        "CHAT_SERVER_ID", "from-env"
                        "CHAT_MAX_LINE", "not a number"
                    ]

                Expect.equal c.Port 0 "port"
                Expect.equal c.ServerId "from-flag" "server-id"
                Expect.equal c.MaxLine 64 "max-line"

            testCase "CHAT_DEMO_USERS takes the spellings of a shell or compose file"
            <| fun () ->
                for on in [ "1"; "true"; "yes"; "on"; "TRUE"; "Yes" ] do
                    Expect.isTrue (config [] [ "CHAT_DEMO_USERS", on ]).DemoUsers on

                for off in [ "0"; "false"; "no"; "off"; "" ] do
                    Expect.isFalse (config [] [ "CHAT_DEMO_USERS", off ]).DemoUsers off

            testCase "a variable that does not parse is refused, by its name"
            <| fun () ->
                Expect.stringContains
                    (invalid [] [ "CHAT_MAX_LINE", "abc" ])
                    "environment variable 'CHAT_MAX_LINE'"
                    "int"

                Expect.stringContains (invalid [] [ "CHAT_DEMO_USERS", "maybe" ]) "'CHAT_DEMO_USERS'" "bool"

                Expect.stringContains
                    (invalid [] [ "CHAT_DUPLICATE_LOGIN", "sometimes" ])
                    "'CHAT_DUPLICATE_LOGIN'"
                    "policy"

            testCase "a variable out of range is refused, naming the variable and its flag"
            <| fun () ->
                Expect.equal
                    (invalid [] [ "CHAT_MAX_LINE", "5" ])
                    "CHAT_MAX_LINE (--max-line) must be between 16 and 1048576 (got 5)"
                    "from the variable"

                Expect.equal
                    (invalid [ "--max-line"; "5" ] [])
                    "--max-line must be between 16 and 1048576 (got 5)"
                    "from the flag"

                Expect.stringContains (invalid [] [ "CHAT_LOG_LEVEL", "loud" ]) "CHAT_LOG_LEVEL" "log level"

            testCase "without flags or variables, the documented defaults"
            <| fun () ->
                let c = config [] []
                Expect.equal c.Port 8000 "port"
                Expect.equal c.Redis None "redis"
                Expect.equal c.DuplicateLogin DuplicateLoginPolicy.ForceLogout "duplicate-login"
                Expect.isFalse c.DemoUsers "demo-users"
                Expect.equal c.BcryptCost 12 "bcrypt-cost"
        ]
