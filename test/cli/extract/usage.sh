b4k-extract train --format lic2019 -o m.b4k x.json
