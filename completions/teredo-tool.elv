
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
            cand -V 'Print version'
            cand --version 'Print version'
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
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'teredo-tool;live'= {
            cand -i 'Interface to capture on (see --list)'
            cand --interface 'Interface to capture on (see --list)'
            cand --filter 'BPF filter (tcpdump syntax) instead of the default `udp` (`udp port 3544` with --no-heuristic)'
            cand -c 'Stop after this many packets have been shown'
            cand --count 'Stop after this many packets have been shown'
            cand --duration 'Stop after this many seconds (fractions allowed)'
            cand -w 'Also save the frames shown to this capture file (pcapng; .pcap for classic pcap)'
            cand --write 'Also save the frames shown to this capture file (pcapng; .pcap for classic pcap)'
            cand --user 'Started as root: switch to this user right after opening the capture (refuses to go on if that fails)'
            cand --type 'Show only these message types (repeatable or comma-separated)'
            cand --host 'Show only packets with this IPv4 or IPv6 address as source or destination (outer IPv4 or inner IPv6; repeatable)'
            cand --port 'Show only packets with this UDP port as source or destination (repeatable)'
            cand --format 'Output format: a table for people, one JSON document, or one JSON object per line'
            cand --color 'When to colour table output (auto: only on a terminal, and never when NO_COLOR is set)'
            cand --list 'List the interfaces libpcap can capture on, with their addresses'
            cand --no-heuristic 'Take only UDP port 3544 for Teredo (no detection heuristic on other ports)'
            cand --json 'Short for --format json'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'teredo-tool;generate'= {
            cand --completions 'Directory for shell completions'
            cand --man 'Directory for man pages'
            cand --format 'Output format: a table for people, one JSON document, or one JSON object per line'
            cand --color 'When to colour table output (auto: only on a terminal, and never when NO_COLOR is set)'
            cand --json 'Short for --format json'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'teredo-tool;help'= {
            cand decode 'Take Teredo addresses apart: server, flags, mapped port and IPv4'
            cand encode 'Build a Teredo address from a server, a mapped address and flags'
            cand live 'Capture on a network interface (libpcap) and dissect Teredo as it arrives; needs root or CAP_NET_RAW and CAP_NET_ADMIN'
            cand generate 'Write shell completions and man pages (for packagers)'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'teredo-tool;help;decode'= {
        }
        &'teredo-tool;help;encode'= {
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
