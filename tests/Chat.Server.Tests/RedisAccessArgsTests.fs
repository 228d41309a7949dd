namespace Chat.Server.Tests

open Expecto
open Argu
open Chat.Server

/// `--redis-ca` / `CHAT_REDIS_CA` (issue 13): read with `--redis`, refused without it.
module RedisAccessArgsTests =
    let private parse (argv: string list) (variables: (string * string) list) =
        Args.parse (Array.ofList argv) (ConfigurationReader.FromDictionary(dict variables))

    [<Tests>]
    let tests =
        testList "RedisAccessArgsTests" [
            testCase "--redis-ca is read beside --redis, from the flag or CHAT_REDIS_CA"
            <| fun () ->
                for argv, variables in
                    [
                        [ "--redis"; "h:1,ssl=true"; "--redis-ca"; "/etc/ca.crt" ], []
                        [], [ "CHAT_REDIS", "h:1,ssl=true"; "CHAT_REDIS_CA", "/etc/ca.crt" ]
                    ] do
                    match parse argv variables with
                    | Args.Run c ->
                        Expect.equal c.Redis (Some "h:1,ssl=true") "redis"
                        Expect.equal c.RedisCa (Some "/etc/ca.crt") "redis-ca"
                    | other -> failtestf "expected a configuration, got %A" other

            testCase "without --redis-ca there is none"
            <| fun () ->
                match parse [ "--redis"; "h:1" ] [] with
                | Args.Run c -> Expect.equal c.RedisCa None "redis-ca"
                | other -> failtestf "expected a configuration, got %A" other

            testCase "--redis-ca without --redis is refused, naming what was given"
            <| fun () ->
                for argv, variables, named in
                    [
                        [ "--redis-ca"; "/etc/ca.crt" ], [], "--redis-ca needs --redis"
                        [], [ "CHAT_REDIS_CA", "/etc/ca.crt" ], "CHAT_REDIS_CA (--redis-ca) needs --redis"
                    ] do
                    match parse argv variables with
                    | Args.Invalid message -> Expect.equal message named "message"
                    | other -> failtestf "expected a refusal, got %A" other
        ]
