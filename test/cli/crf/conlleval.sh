printf 'a x B-NP B-NP\nb x I-NP I-NP\nc x O B-VP\nd x B-VP I-VP\n\ne x B-PP B-PP\nf x B-NP I-PP\n' > p.txt
b4k-crf eval --text p.txt
