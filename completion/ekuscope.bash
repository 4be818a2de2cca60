# bash completion for ekuscope(1)
_ekuscope()
{
	local cur prev
	cur=${COMP_WORDS[COMP_CWORD]}
	prev=${COMP_WORDS[COMP_CWORD-1]}
	case $prev in
	-r | --keylog | --ca-file | --public-roots)
		COMPREPLY=($(compgen -f -- "$cur"))
		return ;;
	-o | --findings | --certs | --conns | --json | --html | -w)
		COMPREPLY=($(compgen -f -- "$cur"))
		return ;;
	--ca-path | --export-certs)
		COMPREPLY=($(compgen -d -- "$cur"))
		return ;;
	-i)
		COMPREPLY=($(compgen -W "any $(ls /sys/class/net 2>/dev/null)" -- "$cur"))
		return ;;
	--fail-on)
		COMPREPLY=($(compgen -W "info warning error" -- "$cur"))
		return ;;
	-Z)
		COMPREPLY=($(compgen -u -- "$cur"))
		return ;;
	-f | -s | -c | -B | --duration | --tls-port | --max-memory | -j | --jobs | --conn)
		return ;;
	esac
	if [[ $cur == -* ]]; then
		COMPREPLY=($(compgen -W "-r -i -f -s -p -w -c -B --duration -Z -D --tls-port --keylog --max-memory
			-j --jobs -o --findings --certs --conns --json --html --export-certs --conn -q --ca-file --ca-path
			--public-roots --fail-on -h --help -V --version" -- "$cur"))
		return
	fi
	COMPREPLY=($(compgen -f -X '!*.@(pcap|pcapng|cap)' -- "$cur") $(compgen -d -- "$cur"))
}
complete -o filenames -F _ekuscope ekuscope
