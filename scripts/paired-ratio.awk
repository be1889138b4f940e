# paired-ratio.awk: how much slower or faster fastfork is than stock fork
# at one measurement, from samples taken in rounds.
#
#   awk -F, -f scripts/paired-ratio.awk write-after-fork-A-S.csv
#   awk -F, -v value=fork_us -f scripts/paired-ratio.awk fork-rounds-A-S.csv
#
# Input: a CSV scripts/bench-fork writes (header first), columns
#   kernel,accel,cpus,mem,page_kind,size_mib,round,config,VALUE[,...]
# where VALUE, the column compared, is -v value (default write_us: the
# parent's write_after_fork; fork_us: fork latency).  One round runs
# stock, lazy and eager once each, one after the other, so the host's
# drift (which moves a 1 GiB write by 30 % and a 1 GiB lazy fork by 2x
# under TCG) hits the three alike; a round's ratio cancels it where the
# medians of each configuration do not.
#
# Output, one line per page kind, size and fastfork configuration (after
# a header):
#   page_kind,size_mib,config,rounds,ratio,ci95_low,ci95_high
# ratio is the Hodges-Lehmann estimate of the per-round ratio
# config/stock: exp of the median of the Walsh averages (d_i + d_j) / 2,
# i <= j, of d = log(config_us / stock_us).  The interval is the
# distribution-free one that goes with it (Wilcoxon signed rank, exact
# null distribution): order statistics k and M + 1 - k of the M Walsh
# averages, where k - 1 is the largest t with P(T+ <= t) <= 2.5 %.  It
# assumes only that the per-round log ratios are independent and
# symmetric about their centre.  Fewer than 6 rounds cannot reach 95 %
# (the smallest two-sided tail is 2 / 2^n): the bounds are then empty.
# Rounds where stock or the configuration has no sample are left out.

NR == 1 {
	if (value == "")
		value = "write_us"
	for (i = 1; i <= NF; i++)
		col[$i] = i
	split("page_kind size_mib round config " value, need, " ")
	for (i in need)
		if (!(need[i] in col)) {
			printf "paired-ratio: no column %s\n", need[i] > "/dev/stderr"
			bad = 1
			exit 1
		}
	next
}

{
	group = $col["page_kind"] "," $col["size_mib"]
	us = $col[value] + 0
	if (us <= 0) {
		printf "paired-ratio: line %d: %s %s is not a positive time\n", NR, value, $col[value] > "/dev/stderr"
		bad = 1
		exit 1
	}
	sample[group, $col["round"], $col["config"]] = us
	if (!(group in seen)) {
		seen[group] = 1
		groups[++ngroups] = group
	}
	if (!((group, $col["round"]) in seen_round)) {
		seen_round[group, $col["round"]] = 1
		rounds[group, ++nrounds[group]] = $col["round"]
	}
	if ($col["config"] != "stock" && !(($col["config"]) in seen_config)) {
		seen_config[$col["config"]] = 1
		configs[++nconfigs] = $col["config"]
	}
}

# sort_values A N: sort A[1..N] ascending (insertion sort: N is at most a
# few thousand Walsh averages)
function sort_values(a, n, i, j, v) {
	for (i = 2; i <= n; i++) {
		v = a[i]
		for (j = i - 1; j >= 1 && a[j] > v; j--)
			a[j + 1] = a[j]
		a[j + 1] = v
	}
}

# lower_rank N: k for n pairs (see the header); 0 when 95 % is out of reach
function lower_rank(n, count, i, s, top, total, cum, t) {
	top = n * (n + 1) / 2
	for (s = 0; s <= top; s++)
		count[s] = 0
	count[0] = 1
	for (i = 1; i <= n; i++)
		for (s = top; s >= i; s--)
			count[s] += count[s - i]
	total = 2 ^ n
	cum = 0
	for (t = 0; t <= top; t++) {
		cum += count[t]
		if (cum / total > 0.025)
			return t
	}
	return 0
}

END {
	if (bad)
		exit 1
	print "page_kind,size_mib,config,rounds,ratio,ci95_low,ci95_high"
	for (g = 1; g <= ngroups; g++)
		for (c = 1; c <= nconfigs; c++) {
			group = groups[g]
			n = 0
			for (r = 1; r <= nrounds[group]; r++) {
				key_s = group SUBSEP rounds[group, r] SUBSEP "stock"
				key_c = group SUBSEP rounds[group, r] SUBSEP configs[c]
				if ((key_s in sample) && (key_c in sample))
					d[++n] = log(sample[key_c] / sample[key_s])
			}
			if (!n)
				continue
			m = 0
			for (i = 1; i <= n; i++)
				for (j = i; j <= n; j++)
					walsh[++m] = (d[i] + d[j]) / 2
			sort_values(walsh, m)
			mid = m % 2 ? walsh[(m + 1) / 2] : (walsh[m / 2] + walsh[m / 2 + 1]) / 2
			k = lower_rank(n)
			low = high = ""
			if (k) {
				low = sprintf("%.4f", exp(walsh[k]))
				high = sprintf("%.4f", exp(walsh[m + 1 - k]))
			}
			printf "%s,%s,%d,%.4f,%s,%s\n", group, configs[c], n, exp(mid), low, high
		}
}
