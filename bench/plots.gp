# plots.gp: bench/run's gnuplot script.  Call with
#   gnuplot -e "data='DIR'; plots='DIR'; rates='100 1000'" bench/plots.gp
# Reads DIR/latency-*.dat, backlog.dat, sustained.dat, throughput-*.dat
# when present; writes PNGs into plots.
set terminal pngcairo size 900,540 font ",10"
set grid
set key top left

fexists(f) = system("test -s '".f."' && echo 1 || echo 0") + 0

# latency distribution: CDF of COMMIT -> receive, log x
if (fexists(data.'/latency-rtpush-100.dat')) {
	set output plots.'/latency.png'
	set title 'COMMIT → pusher-js receive (CDF, all rounds)'
	set xlabel 'latency (ms, log scale)'
	set ylabel 'fraction of events'
	set logscale x
	set yrange [0:1]
	set key bottom right
	if (fexists(data.'/latency-rtpush-commit-100.dat')) {
		plot for [r in rates] data.'/latency-rtpush-commit-'.r.'.dat' using 1:2 with lines lw 2 title 'rtpush from COMMIT '.r.'/s', \
		     for [r in rates] data.'/latency-rtpush-'.r.'.dat' using 1:2 with lines lw 1 title 'rtpush from sending the INSERT '.r.'/s', \
		     for [r in rates] data.'/latency-floor-'.r.'.dat' using 1:2 with lines dt 2 lw 2 title 'library → soketi '.r.'/s'
	} else {
		plot for [r in rates] data.'/latency-rtpush-'.r.'.dat' using 1:2 with lines lw 2 title 'rtpush '.r.'/s', \
		     for [r in rates] data.'/latency-floor-'.r.'.dat' using 1:2 with lines dt 2 lw 2 title 'library → soketi '.r.'/s'
	}
	unset logscale x
	set yrange [*:*]
	set key top left
}

if (fexists(data.'/throughput-rtpush-soketi.dat')) {
	set output plots.'/throughput-drain.png'
	set title 'Outbox drain rate (first round; 250 ms steps)'
	set xlabel 'seconds since the worker was configured'
	set ylabel 'events/s'
	plot data.'/throughput-rtpush-soketi.dat' using 1:2 with lines lw 2 title 'rtpush → soketi', \
	     data.'/throughput-rtpush-sink.dat' using 1:2 with lines lw 2 title 'rtpush → HTTP sink'
}

if (fexists(data.'/backlog.dat')) {
	set output plots.'/backlog.png'
	set title 'Backlog: outbox size on disk and events queued'
	set xlabel 'seconds'
	set ylabel 'MB'
	set y2label 'events queued'
	set y2tics
	set ytics nomirror
	plot data.'/backlog.dat' using 1:2 with lines lw 2 title 'pg\_total\_relation\_size (MB)', \
	     data.'/backlog.dat' using 1:3 with lines dt 2 title 'heap (MB)', \
	     data.'/backlog.dat' using 1:4 with lines dt 3 title 'primary key (MB)', \
	     data.'/backlog.dat' using 1:5 axes x1y2 with lines lw 2 title 'queued (right axis)'
	unset y2tics
	unset y2label
	set ytics mirror
}

if (fexists(data.'/sustained.dat')) {
	set size 1,1
	set terminal pngcairo size 900,1000 font ",10"
	set output plots.'/sustained.png'
	set multiplot layout 4,1 title 'Sustained: events written and delivered continuously'
	set xlabel ''
	set title 'rates (5 s samples)'
	set ylabel 'events/s'
	plot data.'/sustained.dat' using 1:10 with lines lw 2 title 'delivered/s', \
	     '' using 1:9 with lines dt 2 title 'written/s'
	set title 'outbox size on disk and events queued'
	set ylabel 'MB'
	set y2label 'events queued'
	set y2tics
	set ytics nomirror
	plot data.'/sustained.dat' using 1:5 with lines lw 2 title 'outbox MB', '' using 1:4 axes x1y2 with lines title 'queued events (right)'
	unset y2tics
	unset y2label
	set ytics mirror
	set title 'delivery worker CPU and the outbox primary-key entries its fetches read'
	set ylabel 'CPU % of a core'
	set y2label 'pkey entries read/s'
	set y2tics
	set ytics nomirror
	plot data.'/sustained.dat' using 1:11 with lines lw 2 title 'worker CPU %', '' using 1:12 axes x1y2 with lines title 'pkey entries read/s (right)'
	unset y2tics
	unset y2label
	set ytics mirror
	set title 'delivery worker memory (/proc/<pid>/status)'
	set xlabel 'seconds'
	set ylabel 'MB'
	plot data.'/sustained.dat' using 1:7 with lines lw 2 title 'worker VmRSS (with the shared buffers it touched)', \
	     '' using 1:16 with lines lw 2 title 'worker VmRSS without RssShmem', \
	     '' using 1:8 with lines title 'worker RssAnon'
	unset multiplot
}
