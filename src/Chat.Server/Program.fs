module Chat.Server.Program
[<EntryPoint>]
let main _ = 0
