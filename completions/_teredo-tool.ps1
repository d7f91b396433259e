
using namespace System.Management.Automation
using namespace System.Management.Automation.Language

Register-ArgumentCompleter -Native -CommandName 'teredo-tool' -ScriptBlock {
    param($wordToComplete, $commandAst, $cursorPosition)

    $commandElements = $commandAst.CommandElements
    $command = @(
        'teredo-tool'
        for ($i = 1; $i -lt $commandElements.Count; $i++) {
            $element = $commandElements[$i]
            if ($element -isnot [StringConstantExpressionAst] -or
                $element.StringConstantType -ne [StringConstantType]::BareWord -or
                $element.Value.StartsWith('-') -or
                $element.Value -eq $wordToComplete) {
                break
        }
        $element.Value
    }) -join ';'

    $completions = @(switch ($command) {
        'teredo-tool' {
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'Output format: a table for people, one JSON document, or one JSON object per line')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to colour table output (auto: only on a terminal, and never when NO_COLOR is set)')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Short for --format json')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('decode', 'decode', [CompletionResultType]::ParameterValue, 'Take Teredo addresses apart: server, flags, mapped port and IPv4')
            [CompletionResult]::new('encode', 'encode', [CompletionResultType]::ParameterValue, 'Build a Teredo address from a server, a mapped address and flags')
            [CompletionResult]::new('pcap', 'pcap', [CompletionResultType]::ParameterValue, 'Dissect the Teredo packets in pcap/pcapng files ("-" for stdin)')
            [CompletionResult]::new('probe', 'probe', [CompletionResultType]::ParameterValue, 'Probe Teredo servers: qualification and NAT type, relay discovery, tunnelled ping')
            [CompletionResult]::new('live', 'live', [CompletionResultType]::ParameterValue, 'Capture on a network interface (libpcap) and dissect Teredo as it arrives; needs root or CAP_NET_RAW and CAP_NET_ADMIN')
            [CompletionResult]::new('generate', 'generate', [CompletionResultType]::ParameterValue, 'Write shell completions and man pages (for packagers)')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'teredo-tool;decode' {
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'Output format: a table for people, one JSON document, or one JSON object per line')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to colour table output (auto: only on a terminal, and never when NO_COLOR is set)')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Short for --format json')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'teredo-tool;encode' {
            [CompletionResult]::new('--server', '--server', [CompletionResultType]::ParameterName, 'The Teredo server''s IPv4 address')
            [CompletionResult]::new('--mapped', '--mapped', [CompletionResultType]::ParameterName, 'The client''s mapped (external) IPv4 address and UDP port')
            [CompletionResult]::new('--flags', '--flags', [CompletionResultType]::ParameterName, 'All 16 flag bits, e.g. 0x8000 (hex with 0x, or decimal)')
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'Output format: a table for people, one JSON document, or one JSON object per line')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to colour table output (auto: only on a terminal, and never when NO_COLOR is set)')
            [CompletionResult]::new('--cone', '--cone', [CompletionResultType]::ParameterName, 'Set the cone flag (0x8000)')
            [CompletionResult]::new('--random', '--random', [CompletionResultType]::ParameterName, 'Fill the 12 RFC 5991 random bits (mask 0x3CFF) from the OS random source')
            [CompletionResult]::new('--legacy-prefix', '--legacy-prefix', [CompletionResultType]::ParameterName, 'Use the legacy 3ffe:831f::/32 prefix instead of 2001::/32')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Short for --format json')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'teredo-tool;pcap' {
            [CompletionResult]::new('--type', '--type', [CompletionResultType]::ParameterName, 'Keep only these message types (comma-separated)')
            [CompletionResult]::new('--host', '--host', [CompletionResultType]::ParameterName, 'Keep packets involving this address: an IPv4 on the outer layer or embedded in a Teredo address (server or mapped), or an inner IPv6. Repeat for any of several')
            [CompletionResult]::new('--port', '--port', [CompletionResultType]::ParameterName, 'Keep packets with this outer UDP port (either side). Repeatable')
            [CompletionResult]::new('-c', '-c', [CompletionResultType]::ParameterName, 'Stop after N matching packets')
            [CompletionResult]::new('--count', '--count', [CompletionResultType]::ParameterName, 'Stop after N matching packets')
            [CompletionResult]::new('--ports', '--ports', [CompletionResultType]::ParameterName, 'Also decode UDP on these ports as Teredo (comma-separated), besides 3544')
            [CompletionResult]::new('-w', '-w', [CompletionResultType]::ParameterName, 'Write the matching frames, exactly as captured, to OUT (.pcapng for pcapng, anything else for classic pcap)')
            [CompletionResult]::new('--write', '--write', [CompletionResultType]::ParameterName, 'Write the matching frames, exactly as captured, to OUT (.pcapng for pcapng, anything else for classic pcap)')
            [CompletionResult]::new('--decap', '--decap', [CompletionResultType]::ParameterName, 'Write the inner IPv6 packets of the matching frames to OUT (LINKTYPE_IPV6, original timestamps), for any IPv6 tool')
            [CompletionResult]::new('--since', '--since', [CompletionResultType]::ParameterName, 'Keep packets at or after this time (RFC 3339, or seconds since the epoch)')
            [CompletionResult]::new('--until', '--until', [CompletionResultType]::ParameterName, 'Keep packets at or before this time (RFC 3339, or seconds since the epoch)')
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'Output format: a table for people, one JSON document, or one JSON object per line')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to colour table output (auto: only on a terminal, and never when NO_COLOR is set)')
            [CompletionResult]::new('--no-heuristic', '--no-heuristic', [CompletionResultType]::ParameterName, 'Decode only UDP port 3544 (and --ports): no heuristic detection')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Show every layer of each packet with byte offsets (like tshark -V)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Show every layer of each packet with byte offsets (like tshark -V)')
            [CompletionResult]::new('-x', '-x', [CompletionResultType]::ParameterName, 'Hex dump of each packet')
            [CompletionResult]::new('--hex', '--hex', [CompletionResultType]::ParameterName, 'Hex dump of each packet')
            [CompletionResult]::new('--summary', '--summary', [CompletionResultType]::ParameterName, 'Print counters instead of packets (one JSON document with --format json)')
            [CompletionResult]::new('--analyze', '--analyze', [CompletionResultType]::ParameterName, 'Analyse the traffic instead of listing packets: clients, servers, relays, Teredo processes (qualification, bubbles, relay discovery...), RS/RA pairing and anomalies (one JSON document with --format json)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'No progress bar and no end-of-run line on stderr')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'No progress bar and no end-of-run line on stderr')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Short for --format json')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'teredo-tool;probe' {
            [CompletionResult]::new('--server', '--server', [CompletionResultType]::ParameterName, 'Teredo server name or IPv4 address (repeatable; probed concurrently). Names resolve through the system resolver. HOST:PORT is accepted for test servers')
            [CompletionResult]::new('--secondary', '--secondary', [CompletionResultType]::ParameterName, 'Secondary server address (default: primary + 1)')
            [CompletionResult]::new('--bind', '--bind', [CompletionResultType]::ParameterName, 'Local address and port of the socket whose mapping is reported')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'Seconds to wait for each Router Advertisement (RFC 4380: 4)')
            [CompletionResult]::new('--retries', '--retries', [CompletionResultType]::ParameterName, 'Router Solicitations per test (RFC 4380: 3)')
            [CompletionResult]::new('--keepalive', '--keepalive', [CompletionResultType]::ParameterName, 'Seconds without traffic to or from the server after which a keepalive Router Solicitation is sent during --relay/--ping (RFC 4380 §5.2.5, RFC 6081 §5.1.1: 30)')
            [CompletionResult]::new('--relay', '--relay', [CompletionResultType]::ParameterName, 'After qualifying, find the relay that serves this IPv6 host (address or name)')
            [CompletionResult]::new('--ping', '--ping', [CompletionResultType]::ParameterName, 'Relay discovery, then ping this IPv6 host through the relay (or, for a Teredo address, directly after the bubble exchange)')
            [CompletionResult]::new('-c', '-c', [CompletionResultType]::ParameterName, 'Echo requests to send with --ping')
            [CompletionResult]::new('--count', '--count', [CompletionResultType]::ParameterName, 'Echo requests to send with --ping')
            [CompletionResult]::new('-i', '-i', [CompletionResultType]::ParameterName, 'Seconds between echo requests with --ping')
            [CompletionResult]::new('--interval', '--interval', [CompletionResultType]::ParameterName, 'Seconds between echo requests with --ping')
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'Output format: a table for people, one JSON document, or one JSON object per line')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to colour table output (auto: only on a terminal, and never when NO_COLOR is set)')
            [CompletionResult]::new('--nat-type', '--nat-type', [CompletionResultType]::ParameterName, 'Classify the NAT (RFC 4380 qualification). Always done; accepted for clarity')
            [CompletionResult]::new('--trace', '--trace', [CompletionResultType]::ParameterName, 'Print every packet sent and received (on stderr)')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Short for --format json')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'teredo-tool;live' {
            [CompletionResult]::new('-i', '-i', [CompletionResultType]::ParameterName, 'Interface to capture on (see --list)')
            [CompletionResult]::new('--interface', '--interface', [CompletionResultType]::ParameterName, 'Interface to capture on (see --list)')
            [CompletionResult]::new('--filter', '--filter', [CompletionResultType]::ParameterName, 'BPF filter (tcpdump syntax) instead of the default `udp` (`udp port 3544`, plus --ports, with --no-heuristic)')
            [CompletionResult]::new('--duration', '--duration', [CompletionResultType]::ParameterName, 'Stop after this many seconds (fractions allowed)')
            [CompletionResult]::new('--user', '--user', [CompletionResultType]::ParameterName, 'Started as root: switch to this user right after opening the capture (refuses to go on if that fails)')
            [CompletionResult]::new('-s', '-s', [CompletionResultType]::ParameterName, 'Bytes captured of each packet')
            [CompletionResult]::new('--snaplen', '--snaplen', [CompletionResultType]::ParameterName, 'Bytes captured of each packet')
            [CompletionResult]::new('-B', '-B ', [CompletionResultType]::ParameterName, 'Kernel capture buffer in MiB: more absorbs longer bursts (see README, "live throughput")')
            [CompletionResult]::new('--buffer-size', '--buffer-size', [CompletionResultType]::ParameterName, 'Kernel capture buffer in MiB: more absorbs longer bursts (see README, "live throughput")')
            [CompletionResult]::new('--type', '--type', [CompletionResultType]::ParameterName, 'Keep only these message types (comma-separated)')
            [CompletionResult]::new('--host', '--host', [CompletionResultType]::ParameterName, 'Keep packets involving this address: an IPv4 on the outer layer or embedded in a Teredo address (server or mapped), or an inner IPv6. Repeat for any of several')
            [CompletionResult]::new('--port', '--port', [CompletionResultType]::ParameterName, 'Keep packets with this outer UDP port (either side). Repeatable')
            [CompletionResult]::new('-c', '-c', [CompletionResultType]::ParameterName, 'Stop after N matching packets')
            [CompletionResult]::new('--count', '--count', [CompletionResultType]::ParameterName, 'Stop after N matching packets')
            [CompletionResult]::new('--ports', '--ports', [CompletionResultType]::ParameterName, 'Also decode UDP on these ports as Teredo (comma-separated), besides 3544')
            [CompletionResult]::new('-w', '-w', [CompletionResultType]::ParameterName, 'Write the matching frames, exactly as captured, to OUT (.pcapng for pcapng, anything else for classic pcap)')
            [CompletionResult]::new('--write', '--write', [CompletionResultType]::ParameterName, 'Write the matching frames, exactly as captured, to OUT (.pcapng for pcapng, anything else for classic pcap)')
            [CompletionResult]::new('--decap', '--decap', [CompletionResultType]::ParameterName, 'Write the inner IPv6 packets of the matching frames to OUT (LINKTYPE_IPV6, original timestamps), for any IPv6 tool')
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'Output format: a table for people, one JSON document, or one JSON object per line')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to colour table output (auto: only on a terminal, and never when NO_COLOR is set)')
            [CompletionResult]::new('--list', '--list', [CompletionResultType]::ParameterName, 'List the interfaces libpcap can capture on, with their addresses')
            [CompletionResult]::new('--no-heuristic', '--no-heuristic', [CompletionResultType]::ParameterName, 'Decode only UDP port 3544 (and --ports): no heuristic detection')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Show every layer of each packet with byte offsets (like tshark -V)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Show every layer of each packet with byte offsets (like tshark -V)')
            [CompletionResult]::new('-x', '-x', [CompletionResultType]::ParameterName, 'Hex dump of each packet')
            [CompletionResult]::new('--hex', '--hex', [CompletionResultType]::ParameterName, 'Hex dump of each packet')
            [CompletionResult]::new('--summary', '--summary', [CompletionResultType]::ParameterName, 'Print counters instead of packets (one JSON document with --format json)')
            [CompletionResult]::new('--analyze', '--analyze', [CompletionResultType]::ParameterName, 'Analyse the traffic instead of listing packets: clients, servers, relays, Teredo processes (qualification, bubbles, relay discovery...), RS/RA pairing and anomalies (one JSON document with --format json)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'No progress bar and no end-of-run line on stderr')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'No progress bar and no end-of-run line on stderr')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Short for --format json')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'teredo-tool;generate' {
            [CompletionResult]::new('--completions', '--completions', [CompletionResultType]::ParameterName, 'Directory for shell completions')
            [CompletionResult]::new('--man', '--man', [CompletionResultType]::ParameterName, 'Directory for man pages')
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'Output format: a table for people, one JSON document, or one JSON object per line')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to colour table output (auto: only on a terminal, and never when NO_COLOR is set)')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Short for --format json')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'teredo-tool;help' {
            [CompletionResult]::new('decode', 'decode', [CompletionResultType]::ParameterValue, 'Take Teredo addresses apart: server, flags, mapped port and IPv4')
            [CompletionResult]::new('encode', 'encode', [CompletionResultType]::ParameterValue, 'Build a Teredo address from a server, a mapped address and flags')
            [CompletionResult]::new('pcap', 'pcap', [CompletionResultType]::ParameterValue, 'Dissect the Teredo packets in pcap/pcapng files ("-" for stdin)')
            [CompletionResult]::new('probe', 'probe', [CompletionResultType]::ParameterValue, 'Probe Teredo servers: qualification and NAT type, relay discovery, tunnelled ping')
            [CompletionResult]::new('live', 'live', [CompletionResultType]::ParameterValue, 'Capture on a network interface (libpcap) and dissect Teredo as it arrives; needs root or CAP_NET_RAW and CAP_NET_ADMIN')
            [CompletionResult]::new('generate', 'generate', [CompletionResultType]::ParameterValue, 'Write shell completions and man pages (for packagers)')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'teredo-tool;help;decode' {
            break
        }
        'teredo-tool;help;encode' {
            break
        }
        'teredo-tool;help;pcap' {
            break
        }
        'teredo-tool;help;probe' {
            break
        }
        'teredo-tool;help;live' {
            break
        }
        'teredo-tool;help;generate' {
            break
        }
        'teredo-tool;help;help' {
            break
        }
    })

    $completions.Where{ $_.CompletionText -like "$wordToComplete*" } |
        Sort-Object -Property ListItemText
}
