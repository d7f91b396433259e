
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
            cand generate 'Write shell completions and man pages (for packagers)'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'teredo-tool;help;decode'= {
        }
        &'teredo-tool;help;encode'= {
        }
        &'teredo-tool;help;generate'= {
        }
        &'teredo-tool;help;help'= {
        }
    ]
    $completions[$command]
}
