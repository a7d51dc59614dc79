# word scores need one character per token: refused before anything is scored
printf 'a x B B\nb x E E\n' > two.txt
b4k-crf eval --metric word two.txt
