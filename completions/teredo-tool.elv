
use builtin;
use str;

set edit:completion:arg-completer[teredo-tool] = {|@words|
    fn spaces {|n|
        builtin:repeat $n ' ' | str:join ''
    }
    fn cand {|text desc|
        edit:complex-candidate $text &display=$text' '(spaces (- 14 (wcswidth $text)))$desc
    }
    var command = 'teredo-tool'
    for word $words[1..-1] {
        if (str:has-prefix $word '-') {
            break
        }
        set command = $command';'$word
    }
    var completions = [
        &'teredo-tool'= {
            cand --format 'Output format: a table for people, one JSON document, or one JSON object per line'
            cand --color 'When to colour table output (auto: only on a terminal, and never when NO_COLOR is set)'
            cand --json 'Short for --format json'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
            cand decode 'Take Teredo addresses apart: server, flags, mapped port and IPv4'
            cand encode 'Build a Teredo address from a server, a mapped address and flags'
            cand pcap 'Dissect the Teredo packets in pcap/pcapng files ("-" for stdin)'
            cand probe 'Probe Teredo servers: qualification and NAT type, relay discovery, tunnelled ping'
            cand live 'Capture on a network interface (libpcap) and dissect Teredo as it arrives; needs root or CAP_NET_RAW and CAP_NET_ADMIN'
            cand generate 'Write shell completions and man pages (for packagers)'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'teredo-tool;decode'= {
            cand --format 'Output format: a table for people, one JSON document, or one JSON object per line'
            cand --color 'When to colour table output (auto: only on a terminal, and never when NO_COLOR is set)'
            cand --json 'Short for --format json'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'teredo-tool;encode'= {
            cand --server 'The Teredo server''s IPv4 address'
            cand --mapped 'The client''s mapped (external) IPv4 address and UDP port'
            cand --flags 'All 16 flag bits, e.g. 0x8000 (hex with 0x, or decimal)'
            cand --format 'Output format: a table for people, one JSON document, or one JSON object per line'
            cand --color 'When to colour table output (auto: only on a terminal, and never when NO_COLOR is set)'
            cand --cone 'Set the cone flag (0x8000)'
            cand --random 'Fill the 12 RFC 5991 random bits (mask 0x3CFF) from the OS random source'
            cand --legacy-prefix 'Use the legacy 3ffe:831f::/32 prefix instead of 2001::/32'
            cand --json 'Short for --format json'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'teredo-tool;pcap'= {
            cand --type 'Keep only these message types (comma-separated)'
            cand --host 'Keep packets involving this address: an IPv4 on the outer layer or embedded in a Teredo address (server or mapped), or an inner IPv6. Repeat for any of several'
            cand --port 'Keep packets with this outer UDP port (either side). Repeatable'
            cand -c 'Stop after N matching packets'
            cand --count 'Stop after N matching packets'
            cand --ports 'Also decode UDP on these ports as Teredo (comma-separated), besides 3544'
            cand -w 'Write the matching frames, exactly as captured, to OUT (.pcapng for pcapng, anything else for classic pcap)'
            cand --write 'Write the matching frames, exactly as captured, to OUT (.pcapng for pcapng, anything else for classic pcap)'
            cand --decap 'Write the inner IPv6 packets of the matching frames to OUT (LINKTYPE_IPV6, original timestamps), for any IPv6 tool'
            cand --since 'Keep packets at or after this time (RFC 3339, or seconds since the epoch)'
            cand --until 'Keep packets at or before this time (RFC 3339, or seconds since the epoch)'
            cand --format 'Output format: a table for people, one JSON document, or one JSON object per line'
            cand --color 'When to colour table output (auto: only on a terminal, and never when NO_COLOR is set)'
            cand --no-heuristic 'Decode only UDP port 3544 (and --ports): no heuristic detection'
            cand -V 'Show every layer of each packet with byte offsets (like tshark -V)'
            cand --verbose 'Show every layer of each packet with byte offsets (like tshark -V)'
            cand -x 'Hex dump of each packet'
            cand --hex 'Hex dump of each packet'
            cand --summary 'Print counters instead of packets (one JSON document with --format json)'
            cand --analyze 'Analyse the traffic instead of listing packets: clients, servers, relays, Teredo processes (qualification, bubbles, relay discovery...), RS/RA pairing and anomalies (one JSON document with --format json)'
            cand -q 'No progress bar and no end-of-run line on stderr'
            cand --quiet 'No progress bar and no end-of-run line on stderr'
            cand --json 'Short for --format json'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'teredo-tool;probe'= {
            cand --server 'Teredo server name or IPv4 address (repeatable; probed concurrently). Names resolve through the system resolver. HOST:PORT is accepted for test servers'
            cand --secondary 'Secondary server address (default: primary + 1)'
            cand --bind 'Local address and port of the socket whose mapping is reported'
            cand --timeout 'Seconds to wait for each Router Advertisement (RFC 4380: 4)'
            cand --retries 'Router Solicitations per test (RFC 4380: 3)'
            cand --keepalive 'Seconds without traffic to or from the server after which a keepalive Router Solicitation is sent during --relay/--ping (RFC 4380 §5.2.5, RFC 6081 §5.1.1: 30)'
            cand --relay 'After qualifying, find the relay that serves this IPv6 host (address or name)'
            cand --ping 'Relay discovery, then ping this IPv6 host through the relay (or, for a Teredo address, directly after the bubble exchange)'
            cand -c 'Echo requests to send with --ping'
            cand --count 'Echo requests to send with --ping'
            cand -i 'Seconds between echo requests with --ping'
            cand --interval 'Seconds between echo requests with --ping'
            cand --format 'Output format: a table for people, one JSON document, or one JSON object per line'
            cand --color 'When to colour table output (auto: only on a terminal, and never when NO_COLOR is set)'
            cand --nat-type 'Classify the NAT (RFC 4380 qualification). Always done; accepted for clarity'
            cand --trace 'Print every packet sent and received (on stderr)'
            cand --json 'Short for --format json'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'teredo-tool;live'= {
            cand -i 'Interface to capture on (see --list)'
            cand --interface 'Interface to capture on (see --list)'
            cand --filter 'BPF filter (tcpdump syntax) instead of the default `udp` (`udp port 3544`, plus --ports, with --no-heuristic)'
            cand --duration 'Stop after this many seconds (fractions allowed)'
            cand --user 'Started as root: switch to this user right after opening the capture (refuses to go on if that fails)'
            cand -s 'Bytes captured of each packet'
            cand --snaplen 'Bytes captured of each packet'
            cand -B 'Kernel capture buffer in MiB: more absorbs longer bursts (see README, "live throughput")'
            cand --buffer-size 'Kernel capture buffer in MiB: more absorbs longer bursts (see README, "live throughput")'
            cand --type 'Keep only these message types (comma-separated)'
            cand --host 'Keep packets involving this address: an IPv4 on the outer layer or embedded in a Teredo address (server or mapped), or an inner IPv6. Repeat for any of several'
            cand --port 'Keep packets with this outer UDP port (either side). Repeatable'
            cand -c 'Stop after N matching packets'
            cand --count 'Stop after N matching packets'
            cand --ports 'Also decode UDP on these ports as Teredo (comma-separated), besides 3544'
            cand -w 'Write the matching frames, exactly as captured, to OUT (.pcapng for pcapng, anything else for classic pcap)'
            cand --write 'Write the matching frames, exactly as captured, to OUT (.pcapng for pcapng, anything else for classic pcap)'
            cand --decap 'Write the inner IPv6 packets of the matching frames to OUT (LINKTYPE_IPV6, original timestamps), for any IPv6 tool'
            cand --format 'Output format: a table for people, one JSON document, or one JSON object per line'
            cand --color 'When to colour table output (auto: only on a terminal, and never when NO_COLOR is set)'
            cand --list 'List the interfaces libpcap can capture on, with their addresses'
            cand --no-heuristic 'Decode only UDP port 3544 (and --ports): no heuristic detection'
            cand -V 'Show every layer of each packet with byte offsets (like tshark -V)'
            cand --verbose 'Show every layer of each packet with byte offsets (like tshark -V)'
            cand -x 'Hex dump of each packet'
            cand --hex 'Hex dump of each packet'
            cand --summary 'Print counters instead of packets (one JSON document with --format json)'
            cand --analyze 'Analyse the traffic instead of listing packets: clients, servers, relays, Teredo processes (qualification, bubbles, relay discovery...), RS/RA pairing and anomalies (one JSON document with --format json)'
            cand -q 'No progress bar and no end-of-run line on stderr'
            cand --quiet 'No progress bar and no end-of-run line on stderr'
            cand --json 'Short for --format json'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'teredo-tool;generate'= {
            cand --completions 'Directory for shell completions'
            cand --man 'Directory for man pages'
            cand --format 'Output format: a table for people, one JSON document, or one JSON object per line'
            cand --color 'When to colour table output (auto: only on a terminal, and never when NO_COLOR is set)'
            cand --json 'Short for --format json'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'teredo-tool;help'= {
            cand decode 'Take Teredo addresses apart: server, flags, mapped port and IPv4'
            cand encode 'Build a Teredo address from a server, a mapped address and flags'
            cand pcap 'Dissect the Teredo packets in pcap/pcapng files ("-" for stdin)'
            cand probe 'Probe Teredo servers: qualification and NAT type, relay discovery, tunnelled ping'
            cand live 'Capture on a network interface (libpcap) and dissect Teredo as it arrives; needs root or CAP_NET_RAW and CAP_NET_ADMIN'
            cand generate 'Write shell completions and man pages (for packagers)'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'teredo-tool;help;decode'= {
        }
        &'teredo-tool;help;encode'= {
        }
        &'teredo-tool;help;pcap'= {
        }
        &'teredo-tool;help;probe'= {
        }
        &'teredo-tool;help;live'= {
        }
        &'teredo-tool;help;generate'= {
        }
        &'teredo-tool;help;help'= {
        }
    ]
    $completions[$command]
}
