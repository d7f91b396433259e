# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_teredo_tool_global_optspecs
    string join \n format= json color= h/help V/version
end

function __fish_teredo_tool_needs_command
    # Figure out if the current invocation already has a command.
    set -l cmd (commandline -opc)
    set -e cmd[1]
    argparse -s (__fish_teredo_tool_global_optspecs) -- $cmd 2>/dev/null
    or return
    if set -q argv[1]
        # Also print the command, so this can be used to figure out what it is.
        echo $argv[1]
        return 1
    end
    return 0
end

function __fish_teredo_tool_using_subcommand
    set -l cmd (__fish_teredo_tool_needs_command)
    test -z "$cmd"
    and return 1
    contains -- $cmd[1] $argv
end

complete -c teredo-tool -n "__fish_teredo_tool_needs_command" -l format -d 'Output format: a table for people, one JSON document, or one JSON object per line' -r -f -a "table\t''
json\t''
ndjson\t''"
complete -c teredo-tool -n "__fish_teredo_tool_needs_command" -l color -d 'When to colour table output (auto: only on a terminal, and never when NO_COLOR is set)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c teredo-tool -n "__fish_teredo_tool_needs_command" -l json -d 'Short for --format json'
complete -c teredo-tool -n "__fish_teredo_tool_needs_command" -s h -l help -d 'Print help'
complete -c teredo-tool -n "__fish_teredo_tool_needs_command" -s V -l version -d 'Print version'
complete -c teredo-tool -n "__fish_teredo_tool_needs_command" -f -a "decode" -d 'Take Teredo addresses apart: server, flags, mapped port and IPv4'
complete -c teredo-tool -n "__fish_teredo_tool_needs_command" -f -a "encode" -d 'Build a Teredo address from a server, a mapped address and flags'
complete -c teredo-tool -n "__fish_teredo_tool_needs_command" -f -a "pcap" -d 'Dissect the Teredo packets in pcap/pcapng files ("-" for stdin)'
complete -c teredo-tool -n "__fish_teredo_tool_needs_command" -f -a "probe" -d 'Probe Teredo servers: qualification and NAT type, relay discovery, tunnelled ping'
complete -c teredo-tool -n "__fish_teredo_tool_needs_command" -f -a "live" -d 'Capture on a network interface (libpcap) and dissect Teredo as it arrives; needs root or CAP_NET_RAW and CAP_NET_ADMIN'
complete -c teredo-tool -n "__fish_teredo_tool_needs_command" -f -a "generate" -d 'Write shell completions and man pages (for packagers)'
complete -c teredo-tool -n "__fish_teredo_tool_needs_command" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c teredo-tool -n "__fish_teredo_tool_using_subcommand decode" -l format -d 'Output format: a table for people, one JSON document, or one JSON object per line' -r -f -a "table\t''
json\t''
ndjson\t''"
complete -c teredo-tool -n "__fish_teredo_tool_using_subcommand decode" -l color -d 'When to colour table output (auto: only on a terminal, and never when NO_COLOR is set)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c teredo-tool -n "__fish_teredo_tool_using_subcommand decode" -l json -d 'Short for --format json'
complete -c teredo-tool -n "__fish_teredo_tool_using_subcommand decode" -s h -l help -d 'Print help'
complete -c teredo-tool -n "__fish_teredo_tool_using_subcommand encode" -l server -d 'The Teredo server\'s IPv4 address' -r
complete -c teredo-tool -n "__fish_teredo_tool_using_subcommand encode" -l mapped -d 'The client\'s mapped (external) IPv4 address and UDP port' -r
complete -c teredo-tool -n "__fish_teredo_tool_using_subcommand encode" -l flags -d 'All 16 flag bits, e.g. 0x8000 (hex with 0x, or decimal)' -r
complete -c teredo-tool -n "__fish_teredo_tool_using_subcommand encode" -l format -d 'Output format: a table for people, one JSON document, or one JSON object per line' -r -f -a "table\t''
json\t''
ndjson\t''"
complete -c teredo-tool -n "__fish_teredo_tool_using_subcommand encode" -l color -d 'When to colour table output (auto: only on a terminal, and never when NO_COLOR is set)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c teredo-tool -n "__fish_teredo_tool_using_subcommand encode" -l cone -d 'Set the cone flag (0x8000)'
complete -c teredo-tool -n "__fish_teredo_tool_using_subcommand encode" -l random -d 'Fill the 12 RFC 5991 random bits (mask 0x3CFF) from the OS random source'
complete -c teredo-tool -n "__fish_teredo_tool_using_subcommand encode" -l legacy-prefix -d 'Use the legacy 3ffe:831f::/32 prefix instead of 2001::/32'
complete -c teredo-tool -n "__fish_teredo_tool_using_subcommand encode" -l json -d 'Short for --format json'
complete -c teredo-tool -n "__fish_teredo_tool_using_subcommand encode" -s h -l help -d 'Print help'
complete -c teredo-tool -n "__fish_teredo_tool_using_subcommand pcap" -l type -d 'Keep only these message types (comma-separated)' -r -f -a "bubble\t''
indirect-bubble\t''
router-solicitation\t''
router-advertisement\t''
echo-request\t''
echo-reply\t''
data\t''
malformed\t''"
complete -c teredo-tool -n "__fish_teredo_tool_using_subcommand pcap" -l host -d 'Keep packets involving this address: an IPv4 on the outer layer or embedded in a Teredo address (server or mapped), or an inner IPv6. Repeat for any of several' -r
complete -c teredo-tool -n "__fish_teredo_tool_using_subcommand pcap" -l port -d 'Keep packets with this outer UDP port (either side). Repeatable' -r
complete -c teredo-tool -n "__fish_teredo_tool_using_subcommand pcap" -s c -l count -d 'Stop after N matching packets' -r
complete -c teredo-tool -n "__fish_teredo_tool_using_subcommand pcap" -l ports -d 'Also decode UDP on these ports as Teredo (comma-separated), besides 3544' -r
complete -c teredo-tool -n "__fish_teredo_tool_using_subcommand pcap" -s w -l write -d 'Write the matching frames, exactly as captured, to OUT (.pcapng for pcapng, anything else for classic pcap)' -r
complete -c teredo-tool -n "__fish_teredo_tool_using_subcommand pcap" -l decap -d 'Write the inner IPv6 packets of the matching frames to OUT (LINKTYPE_IPV6, original timestamps), for any IPv6 tool' -r
complete -c teredo-tool -n "__fish_teredo_tool_using_subcommand pcap" -l since -d 'Keep packets at or after this time (RFC 3339, or seconds since the epoch)' -r
complete -c teredo-tool -n "__fish_teredo_tool_using_subcommand pcap" -l until -d 'Keep packets at or before this time (RFC 3339, or seconds since the epoch)' -r
complete -c teredo-tool -n "__fish_teredo_tool_using_subcommand pcap" -l format -d 'Output format: a table for people, one JSON document, or one JSON object per line' -r -f -a "table\t''
json\t''
ndjson\t''"
complete -c teredo-tool -n "__fish_teredo_tool_using_subcommand pcap" -l color -d 'When to colour table output (auto: only on a terminal, and never when NO_COLOR is set)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c teredo-tool -n "__fish_teredo_tool_using_subcommand pcap" -l no-heuristic -d 'Decode only UDP port 3544 (and --ports): no heuristic detection'
complete -c teredo-tool -n "__fish_teredo_tool_using_subcommand pcap" -s V -l verbose -d 'Show every layer of each packet with byte offsets (like tshark -V)'
complete -c teredo-tool -n "__fish_teredo_tool_using_subcommand pcap" -s x -l hex -d 'Hex dump of each packet'
complete -c teredo-tool -n "__fish_teredo_tool_using_subcommand pcap" -l summary -d 'Print counters instead of packets (one JSON document with --format json)'
complete -c teredo-tool -n "__fish_teredo_tool_using_subcommand pcap" -l analyze -d 'Analyse the traffic instead of listing packets: clients, servers, relays, Teredo processes (qualification, bubbles, relay discovery...), RS/RA pairing and anomalies (one JSON document with --format json)'
complete -c teredo-tool -n "__fish_teredo_tool_using_subcommand pcap" -s q -l quiet -d 'No progress bar and no end-of-run line on stderr'
complete -c teredo-tool -n "__fish_teredo_tool_using_subcommand pcap" -l json -d 'Short for --format json'
complete -c teredo-tool -n "__fish_teredo_tool_using_subcommand pcap" -s h -l help -d 'Print help'
complete -c teredo-tool -n "__fish_teredo_tool_using_subcommand probe" -l server -d 'Teredo server name or IPv4 address (repeatable; probed concurrently). Names resolve through the system resolver. HOST:PORT is accepted for test servers' -r
complete -c teredo-tool -n "__fish_teredo_tool_using_subcommand probe" -l secondary -d 'Secondary server address (default: primary + 1)' -r
complete -c teredo-tool -n "__fish_teredo_tool_using_subcommand probe" -l bind -d 'Local address and port of the socket whose mapping is reported' -r
complete -c teredo-tool -n "__fish_teredo_tool_using_subcommand probe" -l timeout -d 'Seconds to wait for each Router Advertisement (RFC 4380: 4)' -r
complete -c teredo-tool -n "__fish_teredo_tool_using_subcommand probe" -l retries -d 'Router Solicitations per test (RFC 4380: 3)' -r
complete -c teredo-tool -n "__fish_teredo_tool_using_subcommand probe" -l keepalive -d 'Seconds without traffic to or from the server after which a keepalive Router Solicitation is sent during --relay/--ping (RFC 4380 §5.2.5, RFC 6081 §5.1.1: 30)' -r
complete -c teredo-tool -n "__fish_teredo_tool_using_subcommand probe" -l relay -d 'After qualifying, find the relay that serves this IPv6 host (address or name)' -r
complete -c teredo-tool -n "__fish_teredo_tool_using_subcommand probe" -l ping -d 'Relay discovery, then ping this IPv6 host through the relay (or, for a Teredo address, directly after the bubble exchange)' -r
complete -c teredo-tool -n "__fish_teredo_tool_using_subcommand probe" -s c -l count -d 'Echo requests to send with --ping' -r
complete -c teredo-tool -n "__fish_teredo_tool_using_subcommand probe" -s i -l interval -d 'Seconds between echo requests with --ping' -r
complete -c teredo-tool -n "__fish_teredo_tool_using_subcommand probe" -l format -d 'Output format: a table for people, one JSON document, or one JSON object per line' -r -f -a "table\t''
json\t''
ndjson\t''"
complete -c teredo-tool -n "__fish_teredo_tool_using_subcommand probe" -l color -d 'When to colour table output (auto: only on a terminal, and never when NO_COLOR is set)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c teredo-tool -n "__fish_teredo_tool_using_subcommand probe" -l nat-type -d 'Classify the NAT (RFC 4380 qualification). Always done; accepted for clarity'
complete -c teredo-tool -n "__fish_teredo_tool_using_subcommand probe" -l trace -d 'Print every packet sent and received (on stderr)'
complete -c teredo-tool -n "__fish_teredo_tool_using_subcommand probe" -l json -d 'Short for --format json'
complete -c teredo-tool -n "__fish_teredo_tool_using_subcommand probe" -s h -l help -d 'Print help'
complete -c teredo-tool -n "__fish_teredo_tool_using_subcommand live" -s i -l interface -d 'Interface to capture on (see --list)' -r
complete -c teredo-tool -n "__fish_teredo_tool_using_subcommand live" -l filter -d 'BPF filter (tcpdump syntax) instead of the default `udp` (`udp port 3544`, plus --ports, with --no-heuristic)' -r
complete -c teredo-tool -n "__fish_teredo_tool_using_subcommand live" -l duration -d 'Stop after this many seconds (fractions allowed)' -r
complete -c teredo-tool -n "__fish_teredo_tool_using_subcommand live" -l user -d 'Started as root: switch to this user right after opening the capture (refuses to go on if that fails)' -r
complete -c teredo-tool -n "__fish_teredo_tool_using_subcommand live" -s s -l snaplen -d 'Bytes captured of each packet' -r
complete -c teredo-tool -n "__fish_teredo_tool_using_subcommand live" -s B -l buffer-size -d 'Kernel capture buffer in MiB: more absorbs longer bursts (see README, "live throughput")' -r
complete -c teredo-tool -n "__fish_teredo_tool_using_subcommand live" -l type -d 'Keep only these message types (comma-separated)' -r -f -a "bubble\t''
indirect-bubble\t''
router-solicitation\t''
router-advertisement\t''
echo-request\t''
echo-reply\t''
data\t''
malformed\t''"
complete -c teredo-tool -n "__fish_teredo_tool_using_subcommand live" -l host -d 'Keep packets involving this address: an IPv4 on the outer layer or embedded in a Teredo address (server or mapped), or an inner IPv6. Repeat for any of several' -r
complete -c teredo-tool -n "__fish_teredo_tool_using_subcommand live" -l port -d 'Keep packets with this outer UDP port (either side). Repeatable' -r
complete -c teredo-tool -n "__fish_teredo_tool_using_subcommand live" -s c -l count -d 'Stop after N matching packets' -r
complete -c teredo-tool -n "__fish_teredo_tool_using_subcommand live" -l ports -d 'Also decode UDP on these ports as Teredo (comma-separated), besides 3544' -r
complete -c teredo-tool -n "__fish_teredo_tool_using_subcommand live" -s w -l write -d 'Write the matching frames, exactly as captured, to OUT (.pcapng for pcapng, anything else for classic pcap)' -r
complete -c teredo-tool -n "__fish_teredo_tool_using_subcommand live" -l decap -d 'Write the inner IPv6 packets of the matching frames to OUT (LINKTYPE_IPV6, original timestamps), for any IPv6 tool' -r
complete -c teredo-tool -n "__fish_teredo_tool_using_subcommand live" -l format -d 'Output format: a table for people, one JSON document, or one JSON object per line' -r -f -a "table\t''
json\t''
ndjson\t''"
complete -c teredo-tool -n "__fish_teredo_tool_using_subcommand live" -l color -d 'When to colour table output (auto: only on a terminal, and never when NO_COLOR is set)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c teredo-tool -n "__fish_teredo_tool_using_subcommand live" -l list -d 'List the interfaces libpcap can capture on, with their addresses'
complete -c teredo-tool -n "__fish_teredo_tool_using_subcommand live" -l no-heuristic -d 'Decode only UDP port 3544 (and --ports): no heuristic detection'
complete -c teredo-tool -n "__fish_teredo_tool_using_subcommand live" -s V -l verbose -d 'Show every layer of each packet with byte offsets (like tshark -V)'
complete -c teredo-tool -n "__fish_teredo_tool_using_subcommand live" -s x -l hex -d 'Hex dump of each packet'
complete -c teredo-tool -n "__fish_teredo_tool_using_subcommand live" -l summary -d 'Print counters instead of packets (one JSON document with --format json)'
complete -c teredo-tool -n "__fish_teredo_tool_using_subcommand live" -l analyze -d 'Analyse the traffic instead of listing packets: clients, servers, relays, Teredo processes (qualification, bubbles, relay discovery...), RS/RA pairing and anomalies (one JSON document with --format json)'
complete -c teredo-tool -n "__fish_teredo_tool_using_subcommand live" -s q -l quiet -d 'No progress bar and no end-of-run line on stderr'
complete -c teredo-tool -n "__fish_teredo_tool_using_subcommand live" -l json -d 'Short for --format json'
complete -c teredo-tool -n "__fish_teredo_tool_using_subcommand live" -s h -l help -d 'Print help'
complete -c teredo-tool -n "__fish_teredo_tool_using_subcommand generate" -l completions -d 'Directory for shell completions' -r -F
complete -c teredo-tool -n "__fish_teredo_tool_using_subcommand generate" -l man -d 'Directory for man pages' -r -F
complete -c teredo-tool -n "__fish_teredo_tool_using_subcommand generate" -l format -d 'Output format: a table for people, one JSON document, or one JSON object per line' -r -f -a "table\t''
json\t''
ndjson\t''"
complete -c teredo-tool -n "__fish_teredo_tool_using_subcommand generate" -l color -d 'When to colour table output (auto: only on a terminal, and never when NO_COLOR is set)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c teredo-tool -n "__fish_teredo_tool_using_subcommand generate" -l json -d 'Short for --format json'
complete -c teredo-tool -n "__fish_teredo_tool_using_subcommand generate" -s h -l help -d 'Print help'
complete -c teredo-tool -n "__fish_teredo_tool_using_subcommand help; and not __fish_seen_subcommand_from decode encode pcap probe live generate help" -f -a "decode" -d 'Take Teredo addresses apart: server, flags, mapped port and IPv4'
complete -c teredo-tool -n "__fish_teredo_tool_using_subcommand help; and not __fish_seen_subcommand_from decode encode pcap probe live generate help" -f -a "encode" -d 'Build a Teredo address from a server, a mapped address and flags'
complete -c teredo-tool -n "__fish_teredo_tool_using_subcommand help; and not __fish_seen_subcommand_from decode encode pcap probe live generate help" -f -a "pcap" -d 'Dissect the Teredo packets in pcap/pcapng files ("-" for stdin)'
complete -c teredo-tool -n "__fish_teredo_tool_using_subcommand help; and not __fish_seen_subcommand_from decode encode pcap probe live generate help" -f -a "probe" -d 'Probe Teredo servers: qualification and NAT type, relay discovery, tunnelled ping'
complete -c teredo-tool -n "__fish_teredo_tool_using_subcommand help; and not __fish_seen_subcommand_from decode encode pcap probe live generate help" -f -a "live" -d 'Capture on a network interface (libpcap) and dissect Teredo as it arrives; needs root or CAP_NET_RAW and CAP_NET_ADMIN'
complete -c teredo-tool -n "__fish_teredo_tool_using_subcommand help; and not __fish_seen_subcommand_from decode encode pcap probe live generate help" -f -a "generate" -d 'Write shell completions and man pages (for packagers)'
complete -c teredo-tool -n "__fish_teredo_tool_using_subcommand help; and not __fish_seen_subcommand_from decode encode pcap probe live generate help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
